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
