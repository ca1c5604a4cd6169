"""The dashboard (``templates/admin/index.html``): what needs attention, counted for the staff user's dealer
only, each count linking to a list of exactly what it counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dms_adapters.models import DmsCircuit, DmsPush
from notifications.models import Subscription
from orders.models import RepairOrder
from orma.outbox import OutboxStatus
from parts.models import PartsOrderLine

from .admin_world import make_world, staff_user, superuser

pytestmark = pytest.mark.django_db

LABELS = {
    "DMS pushes FAILED": 1,
    # every push still waiting while the circuit is open: the world's order's, REJECTED-1's, WAITING-1's, OLD-2's
    "DMS pushes paused (the DMS's circuit is open)": 4,
    "Orders rejected by the DMS": 1,
    "Orders PENDING at the DMS for over an hour": 1,
    "Orders open for over 30 days": 2,
    "Backordered parts lines": 1,
    "Subscriptions failing or disabled": 1,
}


def needing_attention(world: Any) -> None:
    """Give ``world`` one of each thing the dashboard counts (two orders open for over 30 days)."""
    api, department = world.api, world.department
    from orders.tests.factories import minimal_body, orders_url

    customer = world.repair_order.customer
    now = timezone.now()
    recent = (now - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    numbers = {}
    for number, date in (("FAILED-1", recent), ("REJECTED-1", recent), ("WAITING-1", recent)):
        response = api.put(orders_url(department), minimal_body(customer, number, date), format="json")
        assert response.status_code == 201
        numbers[number] = RepairOrder.objects.get(uuid=response.json()["orderUUID"])
    # the world's own order (2024) is open for long; so is this one, closed later: not counted
    closed = api.put(orders_url(department), minimal_body(customer, "OLD-2", "2024-05-01"), format="json")
    assert closed.status_code == 201
    RepairOrder.objects.filter(uuid=closed.json()["orderUUID"]).update(status="OPENED", dms_status="SYNCED")
    RepairOrder.objects.filter(pk=world.repair_order.pk).update(dms_status="SYNCED")
    DmsPush.objects.filter(repair_order=numbers["FAILED-1"]).update(status=OutboxStatus.FAILED)
    RepairOrder.objects.filter(pk=numbers["FAILED-1"].pk).update(dms_status="FAILED")
    RepairOrder.objects.filter(pk=numbers["REJECTED-1"].pk).update(dms_status="REJECTED")
    RepairOrder.objects.filter(pk=numbers["WAITING-1"].pk).update(updated_at=now - dt.timedelta(hours=2))
    # the paused count: a pending push of a DMS whose circuit is open (the world's own order's push)
    DmsPush.objects.filter(repair_order=world.repair_order).update(status=OutboxStatus.PENDING)
    DmsCircuit.objects.filter(dealer=world.dealer).update(open_until=now + dt.timedelta(minutes=5))
    PartsOrderLine.objects.filter(parts_order__department=department).update(status="BACKORDER")
    Subscription.objects.filter(partner=world.partner).update(failing_since=now - dt.timedelta(hours=3))


@pytest.fixture
def worlds() -> tuple[Any, Any]:
    alpha, bravo = make_world("Alpha", vin_serial=1), make_world("Bravo", vin_serial=2)
    needing_attention(alpha)
    needing_attention(bravo)
    return alpha, bravo


def dashboard(client: Any) -> dict[str, tuple[int, str]]:
    response = client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="orma-dashboard"' in page
    from orma.admin import dashboard_items

    return {item.label: (item.count, item.url) for item in dashboard_items(response.wsgi_request)}


class TestTheDashboard:
    def test_it_counts_the_staff_users_dealer_only_and_each_link_lists_what_it_counts(self, worlds, client) -> None:
        client.force_login(staff_user(worlds[0].dealer, "alpha-staff"))

        items = dashboard(client)

        assert {label: count for label, (count, _) in items.items()} == LABELS
        for label, (count, url) in items.items():
            listed = client.get(url)
            assert listed.status_code == 200, url
            assert len(listed.context["cl"].result_list) == (1 if label == "Backordered parts lines" else count), label

    def test_the_page_shows_the_counts_with_their_links(self, worlds, client) -> None:
        client.force_login(staff_user(worlds[0].dealer, "alpha-staff"))

        page = client.get("/admin/").content.decode()

        assert "Needs attention: Alpha" in page
        assert '<a href="/admin/dms_adapters/dmspush/?status__exact=FAILED" class="orma-count"' in page
        assert 'data-count="2"' in page  # the orders open for over 30 days

    def test_the_superuser_sees_every_dealers_counts(self, worlds, client) -> None:
        client.force_login(superuser())

        items = dashboard(client)

        assert {label: count for label, (count, _) in items.items()} == {k: 2 * v for k, v in LABELS.items()}
