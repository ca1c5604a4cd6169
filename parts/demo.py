"""Demo parts data for ``orma_seed_demo``: a small catalogue with stock, discounts, surcharges and a
supersession chain. Idempotent: a re-run updates the same rows (found by partId) and creates nothing twice."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction

from orders.models import Customer
from orma.demo import Demo
from tenancy.models import Dealer, Department

from .models import CustomerDiscount, Part, Stock, Surcharge

# partId, brand, partCode, description, net, tax %, unit of sale, kg, group, vehicle refs, on hand
_CATALOGUE = [
    ("V1K0615301AA", "V", "1K0615301AA", "Brake disc, front (superseded)", "89.90", "19", 1, "7.2", "BRK", [], 0),
    ("V1K0615301AB", "V", "1K0615301AB", "Brake disc, front (superseded)", "92.50", "19", 1, "7.2", "BRK", [], 2),
    ("V1K0615301AC", "V", "1K0615301AC", "Brake disc, front", "94.80", "19", 1, "7.1", "BRK", [], 12),
    ("V1K0698151", "V", "1K0698151", "Brake pads, front (set)", "64.35", "19", 1, "1.9", "BRK", [], 8),
    ("V1K0698151F", "V", "1K0698151F", "Brake pads, front, low-dust (set)", "71.10", "19", 1, "1.9", "BRK", [], 3),
    ("VG052195M2", "V", "G052195M2", "Engine oil 5W-30, 1 l", "12.40", "19", 6, "0.9", "OIL", [], 120),
    ("V04E115561H", "V", "04E115561H", "Oil filter", "11.95", "19", 1, "0.3", "FLT", [], 25),
    ("S5E0807221", "S", "5E0807221", "Bumper cover, front", "312.00", "19", 1, "4.4", "BDY", [], 0),
    ("A8W0959754", "A", "8W0959754", "Remote key", "186.70", "19", 1, "0.1", "KEY", ["KEYNUMBER"], 4),
    ("E5F0853651", "E", "5F0853651", "Radiator grille", "143.25", "19", 1, "1.2", "BDY", [], 1),
]
_SUPERSESSION = [("V1K0615301AA", "V1K0615301AB"), ("V1K0615301AB", "V1K0615301AC")]
_ALTERNATIVES = [("V1K0698151", "V1K0698151F")]
_DISCOUNTS = [("V", "", Decimal("10.00")), ("", "OIL", Decimal("15.00"))]
_SURCHARGES = [("VOR", Decimal("5.00"), Decimal("15.00")), ("EMG", Decimal("10.00"), None)]


def _customers(dealer: Dealer, customers: Iterable[Customer | str | uuid.UUID]) -> list[Customer]:
    found = []
    for customer in customers:
        if isinstance(customer, Customer):
            found.append(customer)
        else:
            match = Customer.objects.filter(dealer=dealer, uuid=customer).first()
            if match is not None:
                found.append(match)
    return found


@transaction.atomic
def seed_parts_demo(*, dealer: Dealer, store: Department, customers: Iterable[Customer | str | uuid.UUID]) -> list[str]:
    """Create (or refresh) the demo parts catalogue of ``dealer`` with stock in ``store``; answers the partIds."""
    parts: dict[str, Part] = {}
    for part_id, brand, code, description, net, tax, unit_of_sale, kg, group, references, on_hand in _CATALOGUE:
        part, _ = Part.objects.update_or_create(
            dealer=dealer,
            part_id=part_id,
            defaults={
                "brand_code": brand,
                "part_code": code,
                "description": description,
                "list_net_price": Decimal(net),
                "tax_rate": Decimal(tax),
                "currency_code": "EUR",
                "unit_of_sale": unit_of_sale,
                "weight_kg": Decimal(kg),
                "discount_group": group,
                "mandatory_vehicle_references": references,
                "unit_of_measure": "LITRE" if group == "OIL" else "PIECE",
            },
        )
        parts[part_id] = part
        stock, created = Stock.objects.get_or_create(department=store, part=part, defaults={"on_hand": on_hand})
        if not created and stock.on_hand < max(on_hand, stock.reserved):
            stock.on_hand = max(on_hand, stock.reserved)
            stock.save(update_fields=["on_hand"])
    for part_id, successor_id in _SUPERSESSION:
        Part.objects.filter(pk=parts[part_id].pk).update(superseded_by=parts[successor_id])
    for part_id, alternative_id in _ALTERNATIVES:
        parts[part_id].alternatives.add(parts[alternative_id])
    for customer in _customers(dealer, customers):
        for brand, group, percent in _DISCOUNTS:
            CustomerDiscount.objects.update_or_create(
                customer=customer, brand_code=brand, discount_group=group, defaults={"percent": percent}
            )
    for order_type, percent, fixed_net in _SURCHARGES:
        Surcharge.objects.update_or_create(
            dealer=dealer, order_type=order_type, defaults={"percent": percent, "fixed_net": fixed_net}
        )
    return list(parts)


DEMO_PARTS_ORDER_NUMBER = 1  # the demo world's first parts order, on a fresh database (the schema's example)


def _seed_demo_parts_order(store: Department, customer: Customer) -> None:
    """One demo parts order, placed through the service, once per store (the first on a fresh database)."""
    from orma.actors import Actor, Channel

    from . import rules, services
    from .models import PartsOrder

    if PartsOrder.objects.filter(department=store).exists():
        return
    request = rules.PartsOrderRequest(
        customer_uuid=customer.uuid,
        order_type="STK",
        lines=[rules.RequestedLine(quantity=2, part_id="V1K0698151")],
        order_reference="DEMO-1",
    )
    checked = services.parts_order_check(store=store, request=request)
    assert checked is not None
    services.parts_order_place(store=store, checked=checked, actor=Actor(Channel.ADMIN, "orma_seed_demo"))


def seed_demo(demo: Demo) -> None:
    """The demo catalogue, stocked in the demo dealer's parts department, and the parts curls."""
    dealer, store, customers = demo.made["dealer"], demo.made["parts"], demo.made["customers"]
    part_ids = seed_parts_demo(dealer=dealer, store=store, customers=customers)
    _seed_demo_parts_order(store, customers[0])
    demo.result["parts"] = part_ids
    login = f"{demo.made['partner_username']}:{demo.made['partner_secret']}"
    base = f"{demo.base_url}/parts-api/{dealer.uuid}/{store.uuid}/v1"
    customer = customers[0].uuid
    order = {
        "customerId": str(customer),
        "orderType": "STK",
        "parts": [{"part": {"partId": "V1K0615301AC"}, "quantity": 2}],
    }
    demo.lines += [
        "",
        f"Parts (enterpriseId = dealer {dealer.uuid}, storeId = parts department {store.uuid}):",
        f"  curl -s -u '{login}' '{base}/price-availability?partId=V1K0615301AA&quantity=2&customerId={customer}'",
        f"  curl -s -X POST -u '{login}' -H 'Content-Type: application/json' '{base}/parts-orders' "
        f"-d '{json.dumps(order, separators=(',', ':'))}'",
    ]
