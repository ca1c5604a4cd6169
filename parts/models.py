"""Parts: the dealer's catalogue, stock per store, customer discounts, surcharges, and parts orders."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import NotSupportedError, models
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from orders.choices import DmsStatus
from orders.models import Customer
from orma.actors import Channel
from tenancy.models import Dealer, Department, Partner

from . import rules
from .choices import PartsOrderLineStatus, PartsOrderStatus, PartsOrderType, UnitOfMeasure


def money(**kwargs):  # type: ignore[no-untyped-def]
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


def percent(**kwargs):  # type: ignore[no-untyped-def]
    return models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(100)], **kwargs
    )


class PartQuerySet(models.QuerySet["Part"]):
    """Queries of the catalogue that follow supersession chains in the database."""

    def with_successors(self) -> PartQuerySet:
        """These parts and every successor along their supersession chains: one query, a recursive CTE.

        ``UNION`` (not ``UNION ALL``) drops rows already produced, so a cycle in the data ends the recursion.
        """
        seeds, params = self.order_by().values("id").query.sql_with_params()
        table = self.model._meta.db_table
        sql = (
            f"WITH RECURSIVE chain(id) AS ({seeds}"
            f" UNION"
            f" SELECT p.superseded_by_id FROM {table} p JOIN chain c ON p.id = c.id"
            f" WHERE p.superseded_by_id IS NOT NULL"
            f") SELECT id FROM chain"
        )
        return Part.objects.filter(id__in=RawSQL(sql, params))


class Part(models.Model):
    """A part in one dealer's catalogue, known by its ``partId`` (seed 002), with its list price."""

    # no index of its own: the unique (dealer, part_id) index serves every lookup by dealer
    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="parts", db_index=False)
    part_id = models.CharField(
        max_length=rules.PART_ID_MAX_LENGTH, help_text="seed 002's partId, unique per dealer (e.g. S7654321)"
    )
    brand_code = models.CharField(
        max_length=rules.BRAND_CODE_MAX_LENGTH,
        help_text="seed 002's short brand code: V VW, N VWN, A AUDI, S SKODA, E SEAT, C CUPRA",
    )
    part_code = models.CharField(max_length=50)
    description = models.CharField(max_length=500, blank=True)
    weight_kg = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    unit_of_measure = models.CharField(max_length=20, choices=UnitOfMeasure.choices, default=UnitOfMeasure.PIECE)
    unit_of_measure_value = models.DecimalField(
        max_digits=10, decimal_places=3, default=1, help_text="how much of the unit one piece holds (5 litres)"
    )
    unit_of_sale = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="orders are in multiples of this quantity"
    )
    list_net_price = money(help_text="net list price per unit, before tax and discounts")
    tax_rate = percent(default=0, help_text="percent, e.g. 19.00")
    currency_code = models.CharField(max_length=3, default="EUR")
    discount_group = models.CharField(max_length=20, blank=True, help_text="customer discounts may target it")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    alternatives = models.ManyToManyField("self", blank=True, symmetrical=False, related_name="alternative_of")
    mandatory_vehicle_references = models.JSONField(
        default=list, blank=True, help_text="reference types an order of this part must carry, e.g. KEYNUMBER"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set explicitly (not auto_now) so one import stamps all its rows alike and spots a repeated partId.
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PartQuerySet.as_manager()

    class Meta:
        ordering = ["part_id"]
        constraints = [models.UniqueConstraint(fields=["dealer", "part_id"], name="part_dealer_part_id")]
        indexes = [models.Index(fields=["dealer", "brand_code", "part_code"], name="part_dealer_brand_code")]

    def __str__(self) -> str:
        return self.part_id

    def clean(self) -> None:
        self.brand_code = rules.brand_code(self.brand_code)
        successor = self.superseded_by
        if successor is None:
            return
        if successor.dealer_id != self.dealer_id:
            raise ValidationError({"superseded_by": "the successor must be a part of the same dealer"})
        # An admin edit must not close a supersession cycle: follow the chain as this edit would leave it.
        chain = Part.objects.filter(pk=successor.pk).with_successors().values_list("id", "superseded_by_id")
        successor_of = {**dict(chain), self.pk: successor.pk}
        if rules.follow_supersession(self.pk, successor_of).cycle:
            raise ValidationError({"superseded_by": f"{successor} would close a supersession cycle"})


class Stock(models.Model):
    """How many of a part one store holds and how many of those are reserved for parts orders."""

    # no index of its own: the unique (department, part) index serves every lookup by department
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="parts_stock", db_index=False)
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "stock"
        constraints = [
            models.UniqueConstraint(fields=["department", "part"], name="stock_department_part"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.part_id}@{self.department_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class CustomerDiscount(models.Model):
    """A customer's discount in percent on one brand or on one discount group of parts."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="parts_discounts")
    brand_code = models.CharField(max_length=20, blank=True)
    discount_group = models.CharField(max_length=20, blank=True)
    percent = percent()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(brand_code="") & ~Q(discount_group="")) | (~Q(brand_code="") & Q(discount_group="")),
                name="discount_brand_xor_group",
            ),
            models.UniqueConstraint(
                fields=["customer", "brand_code", "discount_group"], name="discount_customer_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.percent}% on {self.brand_code or self.discount_group}"

    def clean(self) -> None:
        self.brand_code = rules.brand_code(self.brand_code)


class Surcharge(models.Model):
    """What a dealer adds to each line of an urgent order type (VOR, EMG): a percentage and/or a fixed net."""

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="parts_surcharges")
    order_type = models.CharField(max_length=3, choices=PartsOrderType.choices)
    percent = percent(null=True, blank=True, help_text="of the line's net customer price")
    fixed_net = money(null=True, blank=True, help_text="net amount per line, in the part's currency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dealer", "order_type"], name="surcharge_dealer_order_type")]

    def __str__(self) -> str:
        return f"{self.order_type}: {self.percent or 0}% + {self.fixed_net or 0}"


PARTS_ORDER_NUMBER_SEQUENCE = "parts_partsorder_number_seq"  # PostgreSQL; made by migration 0005


class NextPartsOrderNumber(models.Expression):
    """The next ``partsOrderId``, drawn by the database inside the INSERT (no extra query, no race).

    PostgreSQL: a sequence of its own. SQLite (the embedded default, one writer at a time): the table's
    AUTOINCREMENT counter plus one, which never goes back, so a number is never reused even after the
    newest order was purged.
    """

    output_field = models.PositiveBigIntegerField()

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        raise NotSupportedError(f"parts order numbers are not implemented for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any) -> Any:
        table = PartsOrder._meta.db_table
        return f"(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0) + 1)", []

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        return f"nextval('{PARTS_ORDER_NUMBER_SEQUENCE}')", []


class PartsOrderNumberField(models.PositiveBigIntegerField):
    """seed 002's numeric ``partsOrderId``: drawn by the database on insert and read back by the INSERT's
    RETURNING (``db_returning``), so placing an order costs no query more."""

    db_returning = True  # type: ignore[assignment]

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if add and getattr(model_instance, self.attname) is None:
            return NextPartsOrderNumber()
        return super().pre_save(model_instance, add)


class PartsOrder(models.Model):
    """A partner's parts order to one store (seed 002); its status is derived from its lines' statuses."""

    # What partners see (seed 002's partsOrderId is a number); another tenant's number answers 404 like a
    # missing one: tenancy, not obscurity, protects it. The UUID stays OrMa's own key towards the DMS
    # (Keyloop's Idempotency-Key) and the events.
    number = PartsOrderNumberField(unique=True, editable=False, help_text="the API's partsOrderId")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="OrMa's own id of the order")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="parts_orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="parts_orders")
    company = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="company_parts_orders"
    )
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    order_type = models.CharField(max_length=3, choices=PartsOrderType.choices)
    order_reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=PartsOrderStatus.choices, default=PartsOrderStatus.CREATED)
    version = models.PositiveIntegerField(
        default=1, help_text="1 when placed, one more with each line status change: notifications carry it"
    )
    contact = models.JSONField(default=dict, blank=True, help_text="seed 002's orderContact as given")
    delivery_street_name = models.CharField(max_length=200, blank=True)
    delivery_postal_code = models.CharField(max_length=20, blank=True)
    delivery_city = models.CharField(max_length=200, blank=True)
    delivery_country_code = models.CharField(max_length=2, blank=True)
    dms_status = models.CharField(max_length=20, choices=DmsStatus.choices, default=DmsStatus.PENDING)
    dms_order_number = models.CharField(max_length=50, blank=True)
    dms_errors = models.JSONField(default=list, blank=True, help_text="the DMS's business errors, as it gave them")
    dms_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="when it became CLOSED: retention counts from here"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["department", "-created_at", "-id"], name="parts_order_department_recent"),
            models.Index(fields=["status", "closed_at"], name="parts_order_closed"),
        ]

    def __str__(self) -> str:
        return f"parts order {self.number}" if self.number is not None else "new parts order"


class PartsOrderLine(models.Model):
    """One part of a parts order: the part supplied, its status, and its prices at order time."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="the API's orderLineId")
    parts_order = models.ForeignKey(PartsOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="+")
    part_number = models.CharField(max_length=50, help_text="the supplied part's partId at order time")
    superseded_part = models.ForeignKey(
        Part, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="the part requested"
    )
    superseded_part_number = models.CharField(max_length=50, blank=True)
    quantity = models.PositiveIntegerField()
    unit_of_measure = models.CharField(max_length=20, choices=UnitOfMeasure.choices)
    unit_of_measure_value = models.DecimalField(max_digits=10, decimal_places=3)
    unit_of_sale = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=PartsOrderLineStatus.choices)
    reserved_quantity = models.PositiveIntegerField(default=0, help_text="what this line holds of the store's stock")
    vehicle_references = models.JSONField(default=list, blank=True, help_text="[{type, value}] as given")
    list_net_price = money(help_text="net list price per unit at order time")
    order_net_price = money(help_text="the customer's net price per unit at order time")
    surcharge_net = money(null=True, blank=True, help_text="the order type's surcharge on this line, net")
    tax_rate = percent()
    currency_code = models.CharField(max_length=3)

    class Meta:
        ordering = ["parts_order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["parts_order", "position"], name="parts_order_line_position"),
        ]

    def __str__(self) -> str:
        return f"{self.part_number} × {self.quantity}: {self.status}"


class PartsOrderStatusChange(models.Model):
    """A recorded change of a line's status (``line`` set) or of the order's derived status (``line`` empty)."""

    parts_order = models.ForeignKey(PartsOrder, on_delete=models.CASCADE, related_name="status_changes")
    line = models.ForeignKey(
        PartsOrderLine, null=True, blank=True, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    actor = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    correlation_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["parts_order", "at", "id"]

    def __str__(self) -> str:
        subject = self.line.part_number if self.line_id and self.line else "order"
        return f"{subject}: {self.old_status or '-'} → {self.new_status}"
