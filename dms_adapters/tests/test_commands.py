"""``orma_resend_orders`` and ``orma_find_order``: their --json keys, what they change, and bad arguments that
change nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dms_adapters.models import DmsCircuit, DmsPush
from dms_adapters.services import dms_push_attempt
from orders.models import RepairOrder
from orders.tests.factories import CustomerFactory, minimal_body, orders_url
from orma.outbox import OutboxStatus
from tenancy.tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


def create(api, department, customer, number: str = "RO-1", date: str = "2024-02-01") -> RepairOrder:
    response = api.put(orders_url(department), minimal_body(customer, number=number, date=date), format="json")
    assert response.status_code == 201, response.json()
    return RepairOrder.objects.get(uuid=response.json()["orderUUID"])


def failed(order: RepairOrder) -> DmsPush:
    DmsPush.objects.filter(repair_order=order).update(status=OutboxStatus.FAILED, last_error="gone")
    RepairOrder.objects.filter(pk=order.pk).update(dms_status="FAILED")
    return DmsPush.objects.get(repair_order=order)


class TestResendOrders:
    def test_one_order_is_pushed_again_with_a_fresh_budget(self, run_json, api, department, customer):
        order = create(api, department, customer)
        push = failed(order)
        DmsPush.objects.filter(pk=push.pk).update(attempts=7, pending_since=timezone.now() - dt.timedelta(days=3))

        assert run_json("orma_resend_orders", "--order", str(order.uuid)) == {"queued": 1}

        push.refresh_from_db()
        assert (push.status, push.attempts) == (OutboxStatus.PENDING, 0)
        assert push.pending_since > timezone.now() - dt.timedelta(minutes=1)
        assert RepairOrder.objects.get(pk=order.pk).dms_status == "PENDING"
        assert dms_push_attempt(push_id=push.pk) == "SYNCED"

    def test_a_department_resends_its_unsettled_pushes_of_a_status(self, run_json, api, department, customer):
        failing, rejected, synced = (create(api, department, customer, number=f"RO-{n}") for n in range(3))
        failed(failing)
        DmsPush.objects.filter(repair_order=rejected).update(status=OutboxStatus.REJECTED)
        DmsPush.objects.filter(repair_order=synced).update(status=OutboxStatus.SYNCED)
        elsewhere = DepartmentFactory()

        assert run_json("orma_resend_orders", "--department", str(department.uuid), "--dms-status", "FAILED") == {
            "queued": 1
        }
        assert run_json("orma_resend_orders", "--department", str(department.uuid)) == {"queued": 2}
        assert DmsPush.objects.get(repair_order=synced).status == OutboxStatus.SYNCED
        assert run_json("orma_resend_orders", "--department", str(elsewhere.uuid)) == {"queued": 0}

    def test_since_keeps_orders_created_from_that_day(self, run_json, api, department, customer):
        old, new = (
            create(api, department, customer, "RO-OLD", "2024-01-01"),
            create(api, department, customer, "RO-NEW", "2024-06-01"),
        )
        failed(old), failed(new)

        assert run_json("orma_resend_orders", "--department", str(department.uuid), "--since", "2024-03-01") == {
            "queued": 1
        }
        assert DmsPush.objects.get(repair_order=old).status == OutboxStatus.FAILED

    @pytest.mark.parametrize(
        "args",
        [
            [],
            ["--order", "not-a-uuid"],
            ["--order", "00000000-0000-4000-8000-000000000000"],
            ["--department", "00000000-0000-4000-8000-000000000000"],
            ["--department", "{department}", "--since", "yesterday"],
            ["--department", "{department}", "--dms-status", "SYNCED"],
        ],
    )
    def test_a_bad_argument_changes_nothing(self, api, department, customer, args):
        order = create(api, department, customer)
        failed(order)
        args = [arg.format(department=department.uuid) for arg in args]

        with pytest.raises((CommandError, SystemExit)):
            call_command("orma_resend_orders", *args, "--json", stdout=StringIO(), stderr=StringIO())

        assert DmsPush.objects.get(repair_order=order).status == OutboxStatus.FAILED


class TestFindOrder:
    def test_it_lists_every_order_of_the_number_with_window_push_and_attempts(
        self, run_json, api, department, customer
    ):
        first = create(api, department, customer, "RO-7", "2024-01-01")
        second = create(api, department, customer, "RO-7", "2024-03-01")
        create(api, department, customer, "RO-8")
        dms_push_attempt(push_id=DmsPush.objects.get(repair_order=first).pk)

        found = run_json("orma_find_order", "RO-7")

        assert [order["orderUUID"] for order in found] == [str(second.uuid), str(first.uuid)]
        older = found[1]
        assert older["window"] == {"from": "2023-12-02T08:00:00+00:00", "to": "2024-01-31T08:00:00+00:00"}
        assert older["dms"]["status"] == "SYNCED" and older["push"]["status"] == "SYNCED"
        assert [(a["number"], a["outcome"]) for a in older["attempts"]] == [(1, "SYNCED")]
        assert found[0]["push"]["status"] == "PENDING" and found[0]["attempts"] == []
        assert older["deliveries"] == []

    def test_a_department_narrows_it_and_an_unknown_number_finds_nothing(self, run_json, api, department, customer):
        create(api, department, customer, "RO-7")

        assert run_json("orma_find_order", "RO-7", "--department", str(DepartmentFactory().uuid)) == []
        assert run_json("orma_find_order", "RO-404") == []
        with pytest.raises(CommandError):
            call_command("orma_find_order", "RO-7", "--department", "nope", stdout=StringIO())

    def test_it_prints_a_readable_summary(self, api, department, customer):
        create(api, department, customer, "RO-7")
        out = StringIO()

        call_command("orma_find_order", "RO-7", stdout=out)

        assert "RO-7" in out.getvalue() and "push PENDING" in out.getvalue()


def test_orma_check_reports_a_paused_dms(run_json, department):
    DmsCircuit.objects.create(
        dealer=department.dealer, consecutive_failures=5, pauses=1, open_until=timezone.now() + dt.timedelta(minutes=1),
        reason="the DMS answered HTTP 503",
    )  # fmt: skip

    result = run_json("orma_check")

    assert result["dmsCircuits"][str(department.dealer.uuid)].startswith("open until ")
    assert "HTTP 503" in result["dmsCircuits"][str(department.dealer.uuid)]
