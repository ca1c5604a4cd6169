"""The parts admin: line statuses change through the service; every list loads."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from parts.models import PartsOrderStatusChange

from .factories import fresh, place

pytestmark = pytest.mark.django_db


class TestAdmin:
    def test_the_admin_changes_a_line_status_through_the_service(self, api, client, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 4))
        line = parts_order.lines.get()
        admin = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw-Admin-1234")
        client.force_login(admin)
        url = f"/admin/parts/partsorder/{parts_order.pk}/change/"
        assert client.get(url).status_code == 200
        form = {
            "department": store.pk,
            "customer": customer.pk,
            "company": "",
            "partner": parts_order.partner_id,
            "order_type": "STK",
            "order_reference": "",
            "contact": "{}",
            "delivery_street_name": parts_order.delivery_street_name,
            "delivery_postal_code": parts_order.delivery_postal_code,
            "delivery_city": parts_order.delivery_city,
            "delivery_country_code": parts_order.delivery_country_code,
            "dms_order_number": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk,
            "lines-0-parts_order": parts_order.pk,
            "lines-0-status": "CANCELLED",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
            "status_changes-MIN_NUM_FORMS": "0",
            "status_changes-MAX_NUM_FORMS": "1000",
        }

        response = client.post(url, form)

        assert response.status_code == 302, response.content.decode()[:2000]
        assert (fresh(line).status, fresh(stock).reserved, fresh(parts_order).status) == ("CANCELLED", 0, "CLOSED")
        assert PartsOrderStatusChange.objects.filter(line=line, channel="ADMIN", actor="root").count() == 1

    @pytest.mark.parametrize("model", ["part", "stock", "customerdiscount", "surcharge", "partsorder"])
    def test_the_admin_lists_load(self, client, model, api, store, stock, customer):
        place(api, store, customer, (stock.part, 1))
        client.force_login(get_user_model().objects.create_superuser("root", "root@example.invalid", "pw-Admin-1234"))

        assert client.get(f"/admin/parts/{model}/").status_code == 200


def line_form(parts_order, status: str) -> dict:
    """The parts order's page posted back with its (single) line's status set to ``status``."""
    line = parts_order.lines.get()
    return {
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-id": line.pk,
        "lines-0-parts_order": parts_order.pk,
        "lines-0-status": status,
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
        "status_changes-MIN_NUM_FORMS": "0",
        "status_changes-MAX_NUM_FORMS": "1000",
    }


def messages_of(response) -> list[tuple[str, str]]:
    from django.contrib.messages import get_messages

    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def staff(client, store):
    from tests.admin_world import staff_user

    client.force_login(staff_user(store.dealer, "counter"))
    return client


class TestLineStatuses:
    def test_a_change_re_derives_the_order_status_and_emits_the_event(
        self, api, staff, store, stock, customer, django_capture_on_commit_callbacks
    ):
        from orma import events

        parts_order = place(api, store, customer, (stock.part, 4))
        line = parts_order.lines.get()
        with (
            events.recording(events.EventType.PARTS_ORDER_STATUS_CHANGED) as received,
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = staff.post(
                f"/admin/parts/partsorder/{parts_order.pk}/change/", line_form(parts_order, "CANCELLED")
            )

        assert response.status_code == 302
        assert (fresh(line).status, fresh(parts_order).status, fresh(stock).reserved) == ("CANCELLED", "CLOSED", 0)
        assert [(e.data["old_status"], e.data["new_status"]) for e in received] == [("CONFIRMED", "CLOSED")]
        assert messages_of(response) == [
            ("success", f"Changed line {line.part_number}: RESERVED → CANCELLED. The order is now CLOSED.")
        ]
        change = PartsOrderStatusChange.objects.filter(line=line).get()
        assert (change.channel, change.actor) == ("ADMIN", "counter")

    def test_an_impossible_change_shows_one_error_and_no_success(self, api, staff, store, customer):
        from .factories import PartFactory, StockFactory

        empty = StockFactory(department=store, part=PartFactory(dealer=store.dealer), on_hand=0)
        parts_order = place(api, store, customer, (empty.part, 2))
        line = parts_order.lines.get()
        assert line.status == "BACKORDER"

        response = staff.post(f"/admin/parts/partsorder/{parts_order.pk}/change/", line_form(parts_order, "RESERVED"))

        assert (
            response.status_code == 302 and response["Location"] == f"/admin/parts/partsorder/{parts_order.pk}/change/"
        )
        assert messages_of(response) == [
            ("error", f"Line {line.part_number} stays BACKORDER: only 0 of part {line.part_number} available; 2 needed")
        ]
        assert (fresh(line).status, fresh(parts_order).version) == ("BACKORDER", 1)

    def test_a_final_line_is_refused_on_the_form(self, api, staff, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 1))
        staff.post(f"/admin/parts/partsorder/{parts_order.pk}/change/", line_form(parts_order, "CANCELLED"))
        staff.get(f"/admin/parts/partsorder/{parts_order.pk}/change/")  # shows (and so consumes) its message
        line = parts_order.lines.get()

        response = staff.post(f"/admin/parts/partsorder/{parts_order.pk}/change/", line_form(parts_order, "RESERVED"))

        assert response.status_code == 200
        errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
        assert errors["status"] == [f"Line {line.part_number} is CANCELLED and can no longer change."]
        assert [level for level, _ in messages_of(response) if level == "success"] == []
        assert fresh(line).status == "CANCELLED"


class TestThePage:
    def test_the_list_names_orders_customers_and_departments(self, api, staff, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 1))

        page = staff.get("/admin/parts/partsorder/").content.decode()

        assert f"PO-{getattr(parts_order, 'number', None) or parts_order.pk:06d}" in page
        assert str(customer) in page and store.name in page
        assert str(parts_order.uuid) not in page

    def test_the_change_page_shows_addresses_prices_and_a_labelled_history(self, api, staff, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 2))
        staff.post(f"/admin/parts/partsorder/{parts_order.pk}/change/", line_form(parts_order, "CANCELLED"))
        line = parts_order.lines.get()

        page = staff.get(f"/admin/parts/partsorder/{parts_order.pk}/change/").content.decode()

        assert customer.street_name in page and parts_order.delivery_city in page
        assert f"{line.order_net_price * 2:.2f} {line.currency_code}" in page  # the line's net total
        assert f"Line 1 ({line.part_number}): RESERVED → CANCELLED" in page
        assert "Order: CONFIRMED → CLOSED" in page
        assert '"contact"' not in page and "<textarea" not in page  # no raw JSON to edit
