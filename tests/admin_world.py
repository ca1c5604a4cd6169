"""A dealer's world for the admin tests: one row (at least) of every model the admin shows, made the way
the product makes them (orders and parts orders through the API), and the users who look at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from dms_adapters.models import DmsAttempt, DmsCircuit, DmsPush, PartsOrderPush
from notifications.models import Delivery, DeliveryAttempt, Event, Subscription, SubscriptionNotice
from orders.models import PackagePrice, RepairOrder
from orders.tests.factories import CustomerFactory, VehicleFactory, make_package, orders_url, sample_body
from parts.models import CustomerDiscount, PartsOrder, Surcharge
from parts.tests.factories import PartFactory, StockFactory, place
from tenancy.models import DealerStaff
from tenancy.staff import DEALER_STAFF_GROUP
from tenancy.tests.factories import DealerFactory, DepartmentFactory, partner_on
from tests.clients import client_for

PASSWORD = "pw-Staff-12345"


@dataclass
class World:
    """One dealer's rows, keyed by model, and the API client of its partner."""

    dealer: Any
    department: Any
    partner: Any
    api: Any
    rows: dict[type, Any] = field(default_factory=dict)

    @property
    def repair_order(self) -> RepairOrder:
        return self.rows[RepairOrder]


def make_world(name: str, *, vin_serial: int) -> World:
    """A dealer called ``name`` with one of everything; ``vin_serial`` keeps VINs apart between worlds."""
    dealer = DealerFactory(name=name)
    department = DepartmentFactory(dealer=dealer, name=f"{name} service")
    DepartmentFactory(dealer=dealer, name=f"{name} parts", type="PARTS")  # two: the filters show then
    partner = partner_on(department)
    api = client_for(partner)
    customer = CustomerFactory(dealer=dealer, family_name=f"{name}kunde", company_name=f"{name} GmbH")
    vehicle = VehicleFactory(dealer=dealer, customer=customer, vin=f"WVWZZZ1JZXW{vin_serial:06d}")
    package = make_package(dealer, code=f"PKG-{name}")

    body = sample_body(customer, vehicle)
    body["order"]["header"]["orderNumber"] = f"RO-{name}"
    response = api.put(orders_url(department), body, format="json")
    assert response.status_code == 201, response.content
    repair_order = RepairOrder.objects.get(uuid=response.json()["orderUUID"])

    part = PartFactory(dealer=dealer, part_id=f"V{vin_serial:07d}")
    stock = StockFactory(department=department, part=part, on_hand=10)
    parts_order = place(api, department, customer, (part, 2))
    push = DmsPush.objects.get(repair_order=repair_order)
    DmsAttempt.objects.create(
        push=push, number=1, version=1, started_at=timezone.now(), duration_ms=12, outcome="RETRY", error="timeout"
    )
    circuit = DmsCircuit.objects.create(dealer=dealer, consecutive_failures=1)
    parts_push, _ = PartsOrderPush.objects.get_or_create(dealer=dealer, parts_order=parts_order)
    subscription = Subscription.objects.create(
        partner=partner,
        url=f"https://{name.lower()}.example.com/hook",
        event_types=["order.created"],
        secret="whsec_dGVzdC1zZWNyZXQtb2YtdGhlLWFkbWluLXRlc3Rz",
    )
    subscription.departments.add(department)
    notice = SubscriptionNotice.objects.create(subscription=subscription, kind="CREATED")
    event = Event.objects.create(
        type="order.created", department=department, subject_key=f"order:{repair_order.uuid}", data={}
    )
    delivery = Delivery.objects.create(
        subscription=subscription, event=event, subject_key=event.subject_key, event_type=event.type
    )
    DeliveryAttempt.objects.create(delivery=delivery, number=1, status_code=500, error="HTTP 500")
    discount = CustomerDiscount.objects.create(customer=customer, brand_code="VW", percent=Decimal("5"))
    surcharge = Surcharge.objects.create(dealer=dealer, order_type="VOR", percent=Decimal("10"))

    world = World(dealer, department, partner, api)
    from orders.models import Customer, OrderHistory, ServicePackage, Vehicle
    from parts.models import Part, PartsOrderLine, PartsOrderStatusChange, Stock
    from tenancy.models import Department

    world.rows.update(
        {
            RepairOrder: repair_order,
            Customer: customer,
            Vehicle: vehicle,
            ServicePackage: package,
            PackagePrice: PackagePrice.objects.get(package=package, dealer=dealer),
            OrderHistory: repair_order.history.first(),
            Part: part,
            Stock: stock,
            CustomerDiscount: discount,
            Surcharge: surcharge,
            PartsOrder: parts_order,
            PartsOrderLine: parts_order.lines.first(),
            PartsOrderStatusChange: PartsOrderStatusChange.objects.filter(parts_order=parts_order).first(),
            DmsPush: push,
            DmsCircuit: circuit,
            PartsOrderPush: parts_push,
            Subscription: subscription,
            SubscriptionNotice: notice,
            Delivery: delivery,
            Department: department,
        }
    )
    return world


def staff_user(dealer: Any, username: str) -> Any:
    """A staff user of ``dealer`` in the "Dealer staff" group (the role the migration made)."""
    user = get_user_model().objects.create_user(username, f"{username}@example.invalid", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=DEALER_STAFF_GROUP))
    DealerStaff.objects.create(user=user, dealer=dealer)
    return user


def superuser(username: str = "root") -> Any:
    return get_user_model().objects.create_superuser(username, f"{username}@example.invalid", PASSWORD)


__all__ = ["PASSWORD", "World", "make_world", "staff_user", "superuser", "PartsOrder"]
