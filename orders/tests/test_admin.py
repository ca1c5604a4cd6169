"""The repair orders' back office: the change page, saving through the API's write path, the ±30-day rule
and a stale form on the form, searches, filters and "Resend to DMS"."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from dms_adapters.models import DmsPush
from orders.models import OrderHistory, RepairOrder
from orma.outbox import OutboxStatus
from tests.admin_world import make_world, staff_user

from .factories import minimal_body, orders_url, row_counts, sample_body

pytestmark = pytest.mark.django_db


def change_url(repair_order: RepairOrder) -> str:
    return reverse("admin:orders_repairorder_change", args=[repair_order.pk])


def form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back unchanged from the change page ``response``."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = "" if value is None else value
    formsets = [form.jobs, *(block.parts for block in form.job_blocks), form.new_job_parts]
    formsets += [inline.formset for inline in response.context["inline_admin_formsets"]]
    for formset in formsets:
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.forms:
            for name in sub.fields:
                if name == "DELETE":
                    continue
                value = sub.initial.get(name, "")
                data[sub.add_prefix(name)] = getattr(value, "pk", value) if value is not None else ""
    return data


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def world() -> Any:
    return make_world("Alpha", vin_serial=1)


@pytest.fixture
def staff(world: Any, client: Any) -> Any:
    client.force_login(staff_user(world.dealer, "alpha-staff"))
    return client


class TestTheChangePage:
    def test_it_shows_the_order_its_jobs_lines_totals_history_dms_and_notifications(self, world, staff) -> None:
        response = staff.get(change_url(world.repair_order))

        assert response.status_code == 200
        page = response.content.decode()
        for expected in (
            "RO-Alpha",  # the header
            "Alphakunde",  # the customer
            world.rows[type(world.repair_order.vehicle)].vin,  # the vehicle
            "Oil and filter change",  # a job
            'name="jobs-0-parts-0-partNumber"',  # its part lines, editable
            "order-totals",  # computed totals
            "History (who, when, through which channel, what)",
            "dms-attempts",  # the DMS push and its attempts
            "notifications-sent",  # the deliveries of order:<uuid>
            "order.created",
        ):
            assert expected in page, expected

    def test_saving_a_line_goes_through_the_write_path(self, world, staff) -> None:
        repair_order = world.repair_order
        data = form_data(staff.get(change_url(repair_order)))
        data["jobs-0-parts-0-quantityOrdered"] = "3"
        data["jobs-0-parts-0-description"] = "Oil filter (long life)"

        response = staff.post(change_url(repair_order), data)

        assert response.status_code == 302, response.context["adminform"].form.errors
        repair_order.refresh_from_db()
        part = repair_order.document["jobs"][0]["parts"][0]
        assert (part["quantityOrdered"], part["description"]) == ("3.00", "Oil filter (long life)")
        assert repair_order.version == 2 and repair_order.dms_status == "PENDING"
        history = OrderHistory.objects.get(repair_order=repair_order, version=2)
        assert (history.channel, history.actor) == ("ADMIN", "alpha-staff")
        assert {c["field"] for c in history.changes} >= {"order.jobs[0].parts[0].quantityOrdered"}
        push = DmsPush.objects.get(repair_order=repair_order)
        assert (push.version, push.status) == (2, OutboxStatus.PENDING)  # the DMS gets the new version
        assert repair_order.jobs.get().parts.get(position=0).quantity_ordered == 3  # the rows follow

    def test_a_rule_of_the_api_shows_on_its_field_and_writes_nothing(self, world, staff) -> None:
        repair_order = world.repair_order
        data = form_data(staff.get(change_url(repair_order)))
        data["jobs-0-parts-0-salePrice"] = "12.345"
        before = row_counts()

        response = staff.post(change_url(repair_order), data)

        assert response.status_code == 200
        errors = response.context["adminform"].form.job_blocks[0].parts.forms[0].errors
        assert "salePrice" in errors
        assert row_counts() == before and RepairOrder.objects.get(pk=repair_order.pk).version == 1


class TestTheWindowRule:
    def test_a_number_that_collides_within_30_days_is_refused_with_the_rules_message(self, world, staff) -> None:
        api, department = world.api, world.department
        customer = world.repair_order.customer
        first = api.put(orders_url(department), minimal_body(customer, "RO-1", "2024-02-01"), format="json")
        second = api.put(orders_url(department), minimal_body(customer, "RO-2", "2024-03-02"), format="json")
        assert (first.status_code, second.status_code) == (201, 201)
        other = RepairOrder.objects.get(uuid=second.json()["orderUUID"])
        data = form_data(staff.get(change_url(other)))
        data["orderNumber"] = "RO-1"  # 2024-03-02 08:00 is exactly 30 days after RO-1: the same order
        before = row_counts()

        response = staff.post(change_url(other), data)

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert any(first.json()["orderUUID"] in problem and "30 days" in problem for problem in form.problems_on_top)
        assert row_counts() == before
        other.refresh_from_db()
        assert (other.order_number, other.version) == ("RO-2", 1)

    def test_a_day_more_is_another_order(self, world, staff) -> None:
        api, department = world.api, world.department
        customer = world.repair_order.customer
        api.put(orders_url(department), minimal_body(customer, "RO-1", "2024-02-01"), format="json")
        second = api.put(
            orders_url(department), minimal_body(customer, "RO-2", "2024-03-02", "08:00:01"), format="json"
        )
        other = RepairOrder.objects.get(uuid=second.json()["orderUUID"])
        data = form_data(staff.get(change_url(other)))
        data["orderNumber"] = "RO-1"  # 30 days and 1 second: a different order

        response = staff.post(change_url(other), data)

        assert response.status_code == 302
        assert RepairOrder.objects.get(pk=other.pk).order_number == "RO-1"


class TestAStaleForm:
    def test_a_form_opened_before_another_change_is_refused(self, world, staff) -> None:
        repair_order = world.repair_order
        data = form_data(staff.get(change_url(repair_order)))  # opened at version 1
        body = sample_body(repair_order.customer, repair_order.vehicle)
        body["order"]["header"]["orderNumber"] = "RO-Alpha"
        body["order"]["header"]["description"] = "changed by the partner meanwhile"
        assert (
            world.api.put(f"{orders_url(world.department)}/{repair_order.uuid}", body, format="json").status_code == 200
        )
        data["description"] = "changed in the admin"

        response = staff.post(change_url(repair_order), data)

        assert response.status_code == 200
        assert any("changed since you opened it" in p for p in response.context["adminform"].form.problems_on_top)
        repair_order.refresh_from_db()
        assert repair_order.version == 2
        assert repair_order.document["header"]["description"] == "changed by the partner meanwhile"

    def test_the_version_check_is_made_again_under_the_lock(self, world, staff, monkeypatch) -> None:
        # a save that passed the form's check while another writer committed: the service refuses it
        from orders.admin_forms import RepairOrderForm

        repair_order = world.repair_order
        data = form_data(staff.get(change_url(repair_order)))
        data["description"] = "mine"
        checked = RepairOrderForm._validate_order

        def then_someone_saves(form: Any) -> None:
            checked(form)
            RepairOrder.objects.filter(pk=repair_order.pk).update(version=5)

        monkeypatch.setattr(RepairOrderForm, "_validate_order", then_someone_saves)

        response = staff.post(change_url(repair_order), data)

        assert response.status_code == 302 and response["Location"] == change_url(repair_order)
        assert messages_of(response) == [
            ("error", "This order changed while you were editing it. Nothing was saved: reload and try again.")
        ]
        assert OrderHistory.objects.filter(repair_order=repair_order).count() == 1


class TestTheList:
    @pytest.mark.parametrize(
        "term",
        ["RO-Alp", "ro-alpha", "WVWZZZ1JZXW000001", "wvwzzz1jzxw0000", "B-OM", "Alphak", "Alpha GmbH", "06L115"],
    )
    def test_the_search_finds_the_order_by_number_vin_plate_customer_and_part(self, world, staff, term) -> None:
        other = make_world("Bravo", vin_serial=2)  # the same part and plate prefix, another dealer
        response = staff.get(reverse("admin:orders_repairorder_changelist"), {"q": term})

        found = [row.pk for row in response.context["cl"].result_list]
        assert found == [world.repair_order.pk]
        assert other.repair_order.pk not in found

    def test_the_search_misses_what_does_not_start_so(self, world, staff) -> None:
        response = staff.get(reverse("admin:orders_repairorder_changelist"), {"q": "lpha"})

        assert list(response.context["cl"].result_list) == []

    def test_the_list_shows_the_dms_status_coloured_and_the_total(self, world, staff) -> None:
        page = staff.get(reverse("admin:orders_repairorder_changelist")).content.decode()

        assert 'class="dms-status dms-pending"' in page
        assert "RO-Alpha" in page


class TestResendToDms:
    def test_it_queues_a_failed_push_again_with_a_fresh_budget(self, world, staff) -> None:
        repair_order = world.repair_order
        DmsPush.objects.filter(repair_order=repair_order).update(status=OutboxStatus.FAILED, attempts=7)
        RepairOrder.objects.filter(pk=repair_order.pk).update(dms_status="FAILED")

        response = staff.post(
            reverse("admin:orders_repairorder_changelist"),
            {"action": "resend_to_dms", "_selected_action": [repair_order.pk], "index": 0},
        )

        assert response.status_code == 302
        push = DmsPush.objects.get(repair_order=repair_order)
        assert (push.status, push.attempts) == (OutboxStatus.PENDING, 0)
        assert RepairOrder.objects.get(pk=repair_order.pk).dms_status == "PENDING"
        assert messages_of(response) == [("success", "Queued 1 order(s) for the DMS.")]
