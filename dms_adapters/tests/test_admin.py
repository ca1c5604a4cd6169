"""The DMS push in the back office: the push with its attempts, the FAILED and paused filters, "Resend"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from dms_adapters.models import DmsCircuit, DmsPush
from orders.models import RepairOrder
from orma.outbox import OutboxStatus
from tests.admin_world import make_world, staff_user

pytestmark = pytest.mark.django_db

LIST = "/admin/dms_adapters/dmspush/"


@pytest.fixture
def world():
    return make_world("Alpha", vin_serial=1)


@pytest.fixture
def staff(world, client):
    client.force_login(staff_user(world.dealer, "alpha-staff"))
    return client


def listed(client, **query) -> list[int]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return [push.pk for push in response.context["cl"].result_list]


class TestThePush:
    def test_its_page_shows_every_attempt(self, world, staff) -> None:
        push = DmsPush.objects.get(repair_order=world.repair_order)

        page = staff.get(f"{LIST}{push.pk}/change/").content.decode()

        assert "RO-Alpha" in page and "timeout" in page and "RETRY" in page

    def test_the_failed_filter_lists_the_pushes_that_gave_up(self, world, staff) -> None:
        push = DmsPush.objects.get(repair_order=world.repair_order)
        assert listed(staff, status__exact="FAILED") == []
        DmsPush.objects.filter(pk=push.pk).update(status=OutboxStatus.FAILED)

        assert listed(staff, status__exact="FAILED") == [push.pk]

    def test_the_paused_filter_lists_pushes_waiting_on_an_open_circuit(self, world, staff) -> None:
        push = DmsPush.objects.get(repair_order=world.repair_order)
        assert listed(staff, paused="yes") == []  # the circuit is closed
        DmsCircuit.objects.filter(dealer=world.dealer).update(open_until=timezone.now() + dt.timedelta(minutes=1))

        assert listed(staff, paused="yes") == [push.pk]

        DmsCircuit.objects.filter(dealer=world.dealer).update(open_until=timezone.now() - dt.timedelta(seconds=1))
        assert listed(staff, paused="yes") == []  # the pause is over

    def test_resend_queues_it_again_and_leaves_one_in_flight_alone(self, world, staff) -> None:
        push = DmsPush.objects.get(repair_order=world.repair_order)
        DmsPush.objects.filter(pk=push.pk).update(status=OutboxStatus.FAILED, attempts=9)
        RepairOrder.objects.filter(pk=world.repair_order.pk).update(dms_status="FAILED")

        response = staff.post(LIST, {"action": "resend", "_selected_action": [push.pk], "index": 0})

        push.refresh_from_db()
        assert (push.status, push.attempts) == (OutboxStatus.PENDING, 0)
        assert RepairOrder.objects.get(pk=world.repair_order.pk).dms_status == "PENDING"
        assert [str(m) for m in get_messages(response.wsgi_request)] == ["Queued 1 order(s) for the DMS."]

        DmsPush.objects.filter(pk=push.pk).update(status=OutboxStatus.SENDING)
        response = staff.post(LIST, {"action": "resend", "_selected_action": [push.pk], "index": 0})

        assert DmsPush.objects.get(pk=push.pk).status == OutboxStatus.SENDING
        assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
            "Queued 0 order(s) for the DMS. 1 push(es) in flight right now were left alone (they finish on their own)."
        )
