"""Repair orders (seed 001 + WorkshopOrder 2.x): the order, its jobs and their lines, and its history."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from orders.choices import DmsStatus, RepairOrderStatus
from orders.fields import CODE_MAX, HOURS, MONEY, NAME_MAX, QUANTITY
from orma.actors import Channel
from tenancy.models import Department, Partner

from .customers import Customer, Vehicle


def money(**kwargs):  # type: ignore[no-untyped-def]
    return models.DecimalField(
        max_digits=MONEY.max_digits, decimal_places=MONEY.places, null=True, blank=True, **kwargs
    )


def hours(**kwargs):  # type: ignore[no-untyped-def]
    return models.DecimalField(
        max_digits=HOURS.max_digits, decimal_places=HOURS.places, null=True, blank=True, **kwargs
    )


def quantity(**kwargs):  # type: ignore[no-untyped-def]
    return models.DecimalField(
        max_digits=QUANTITY.max_digits, decimal_places=QUANTITY.places, null=True, blank=True, **kwargs
    )


def code(**kwargs):  # type: ignore[no-untyped-def]
    return models.CharField(max_length=CODE_MAX, blank=True, **kwargs)


def name(**kwargs):  # type: ignore[no-untyped-def]
    return models.CharField(max_length=NAME_MAX, blank=True, **kwargs)


def text(**kwargs):  # type: ignore[no-untyped-def]
    return models.TextField(blank=True, **kwargs)


class RepairOrder(models.Model):
    """A workshop repair order of one department: seed 001's header, identified by number and instant.

    An order is held in three forms, all written by one function (``services.repair_order_write``) from
    one validated order: ``document``, the normalised body as the API answers it; the header columns
    below; the jobs and line tables. The document is authoritative: every read answers it (one row), and
    it alone keeps what the rows cannot tell apart (an empty text, list or object sent, from an absent
    one). The columns and line tables are derived from the same data for filters, the admin and
    reporting; ``selectors.repair_order_from_rows`` renders them back into a document, and a test keeps
    the two equal, so a mistake in the rows shows.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="repair_orders")
    order_number = models.CharField(max_length=50)
    created_instant = models.DateTimeField(help_text="createDate + createTime, UTC: the ±30-day rule's instant")
    status = models.CharField(max_length=20, choices=RepairOrderStatus.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="repair_orders")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="repair_orders")
    vin = models.CharField(max_length=17, blank=True, help_text="the vehicle's VIN, kept here for the list filter")

    service_account = code()
    accounting_account = code()
    dept_type = code()
    advisor_number = code()
    advisor_name = name()
    assigned_user_uuid = code()
    creator_user_uuid = code()
    appointment_number = code()
    tag_number = code()
    mileage_in = models.PositiveIntegerField(null=True, blank=True)
    mileage_out = models.PositiveIntegerField(null=True, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    promised_time = models.TimeField(null=True, blank=True)
    void_date = models.DateTimeField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    close_time = models.TimeField(null=True, blank=True)
    waiter = models.CharField(max_length=1, blank=True)
    rental = models.CharField(max_length=1, blank=True)
    sold_hours = hours()
    actual_hours = hours()
    labor_cost = money()
    labor_sale = money()
    labor_sale_customer = money()
    labor_sale_internal = money()
    labor_sale_warranty = money()
    parts_cost = money()
    parts_cost_customer = money()
    parts_cost_internal = money()
    parts_cost_warranty = money()
    parts_sale = money()
    parts_sale_customer = money()
    parts_sale_internal = money()
    parts_sale_warranty = money()
    lube_sale = money()
    lube_sale_customer = money()
    lube_sale_internal = money()
    lube_sale_warranty = money()
    misc_sale = money()
    misc_sale_customer = money()
    misc_sale_internal = money()
    misc_sale_warranty = money()
    sublet_sale = money()
    sublet_sale_customer = money()
    sublet_sale_internal = money()
    sublet_sale_warranty = money()
    customer_pay_amount = money()
    customer_pay_state_tax = money()
    internal_pay_amount = money()
    warranty_pay_amount = money()
    description = text()

    # WorkshopOrder 2.x
    contact_name = name()
    contact_phone = code()
    contact_email = name()
    warranty_start_date = models.DateField(null=True, blank=True)
    extended_warranty_until = models.DateField(null=True, blank=True)
    warranty_claim_reference = code()

    document = models.JSONField(help_text="the normalised order as the API answers it")
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    dms_status = models.CharField(max_length=20, choices=DmsStatus.choices, default=DmsStatus.PENDING)
    dms_order_number = code()
    dms_errors = models.JSONField(default=list, blank=True)
    dms_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_instant", "-id"]
        indexes = [
            # The ±30-day lookup: equality on department and number, a range on the instant.
            models.Index(fields=["department", "order_number", "created_instant"], name="ro_window"),
            models.Index(fields=["department", "-created_instant", "-id"], name="ro_list"),
            models.Index(fields=["department", "status", "-created_instant", "-id"], name="ro_status"),
            models.Index(fields=["department", "vin"], name="ro_vin"),
            # GET order?customer=: one customer's orders of a department, newest first.
            models.Index(fields=["department", "customer", "-created_instant", "-id"], name="ro_customer"),
            models.Index(fields=["department", "updated_at", "id"], name="ro_updated"),
            models.Index(fields=["dms_status"], name="ro_dms_status"),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} ({self.created_instant:%Y-%m-%d %H:%M})"


class Job(models.Model):
    """A job of a repair order (a labour operation with its lines)."""

    repair_order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="jobs")
    position = models.PositiveIntegerField()
    job_identifier = code()
    job_number_string = code()
    lop_seq_number = code()
    labor_op_code = code()
    labor_op_code_desc = text()
    labor_type = code()
    labor_sale = money()
    sold_hours = hours()
    actual_hours = hours()
    parts_sale = money()
    misc_sale = money()
    booker_no = code()
    dispatch_line_status = code()
    tech_no = code()
    campaign_code = code()
    complaint = text()
    complaint_code = code()
    cause = text()
    correction = text()

    class Meta:
        ordering = ["repair_order", "position"]


class JobLine(models.Model):
    """Common columns of every line of a job."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        abstract = True
        ordering = ["job", "position"]


class PartLine(JobLine):
    """A part on a job (``jobs[].parts[]``); lines a service package brought carry its code."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="parts")
    part_number = code()
    description = text()
    seq_no = code()
    quantity_ordered = quantity()
    quantity_sold = quantity()
    cost = money()
    sale_price = money()
    sale_total = money()
    labor_type = code()
    package_code = code()


class GogLine(JobLine):
    """A gas, oil and grease line (``jobs[].gog[]``)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="gog")
    item_type = code()
    item_description = text()
    job_number = code()
    quantity = quantity()
    sale_total = money()
    sale_price = money()
    labor_type = code()


class TechHoursLine(JobLine):
    """A technician's hours on a job (``jobs[].techHours[]``)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tech_hours")
    tech_no = code()
    part_seq_no = code()
    labor_cost = money()
    labor_sale = money()
    sold_hours = hours()
    other_hours = hours()
    labor_type = code()


class CommentLine(JobLine):
    """A comment on a job (``jobs[].comments[]``)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="comments")
    comment = text()
    last_updated_by = name()
    update_date = models.DateField(null=True, blank=True)
    update_time = models.TimeField(null=True, blank=True)


class LabourLine(JobLine):
    """A labour operation a service package brought into a job (``jobs[].labour[]``)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="labour")
    labor_op_code = code()
    labor_op_code_desc = text()
    sold_hours = hours()
    package_code = code()


class PackageUse(JobLine):
    """A service package applied to a job, at the dealer's price when the order was written."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="packages")
    package_code = code()
    description = text()
    quantity = quantity()
    unit_price = money()
    price = money()
    currency_code = models.CharField(max_length=3, blank=True)


class MlsLine(models.Model):
    """A miscellaneous, lube or sublet line, of a job (DESIGN) or of the order (seed 001's sample)."""

    repair_order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="mls")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="mls")
    position = models.PositiveIntegerField()
    labor_type = code()
    op_code = code()
    op_code_desc = text()
    failure_code = code()
    sale_price = money()
    cost_price = money()
    sale_company = name()
    source_company = name()
    line_code = code()
    po_number = code()
    po_create_date = models.DateField(null=True, blank=True)
    po_line_id = code()
    mls_type = code()
    description = text()
    vendor = name()

    class Meta:
        ordering = ["repair_order", "job", "position"]


class OrderReference(models.Model):
    """A reference of a repair order (appointment, booking, claim, the partner's own id)."""

    repair_order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveIntegerField()
    type = models.CharField(max_length=20)
    value = code()

    class Meta:
        ordering = ["repair_order", "position"]


class OrderHistory(models.Model):
    """One change of a repair order: who, when, through which channel, and the field-level diff."""

    repair_order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="history")
    version = models.PositiveIntegerField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, help_text="the partner's username, the staff user, or the DMS")
    at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(help_text='[{"field": path, "old": value, "new": value}]')
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["repair_order", "version", "id"]
        verbose_name_plural = "order history"
