"""What a partner's developer meets on the orders family: no-op updates, conditional reads, clear refusals,
the customer filter, the closeDate warning."""

from __future__ import annotations

import copy

import pytest

from orders.models import OrderHistory, RepairOrder
from tenancy.tests.factories import DepartmentFactory, GrantFactory, PartnerFactory
from tests.clients import client_for

from .factories import CustomerFactory, minimal_body, orders_url, sample_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


def create(api, department, body):
    response = api.put(orders_url(department), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["orderUUID"]


class TestIdenticalPut:
    def test_an_identical_put_changes_nothing(self, api, department, customer, django_assert_max_num_queries):
        body = sample_body(customer)
        order_uuid = create(api, department, body)
        url = f"{orders_url(department)}/{order_uuid}"
        before = RepairOrder.objects.get(uuid=order_uuid)

        with django_assert_max_num_queries(9):
            response = api.put(url, copy.deepcopy(body), format="json")

        assert response.status_code == 200, response.content
        assert response.json()["orderUUID"] == order_uuid
        assert response["ETag"] == '"1"'
        after = RepairOrder.objects.get(uuid=order_uuid)
        assert (after.version, after.updated_at, after.dms_status) == (1, before.updated_at, before.dms_status)
        assert OrderHistory.objects.filter(repair_order=after).count() == 1  # the creation only

    def test_a_put_that_changes_one_field_is_a_new_version(self, api, department, customer):
        body = minimal_body(customer)
        order_uuid = create(api, department, body)
        body["order"]["header"]["description"] = "brakes too"

        response = api.put(f"{orders_url(department)}/{order_uuid}", body, format="json")

        assert response["ETag"] == '"2"'
        (entry,) = OrderHistory.objects.filter(version=2)
        assert entry.changes == [{"field": "order.header.description", "old": None, "new": "brakes too"}]

    def test_a_closed_order_answers_409_even_to_an_identical_put(self, api, department, customer):
        body = minimal_body(customer)
        body["order"]["header"]["status"] = "CLOSED"
        order_uuid = create(api, department, body)

        response = api.put(f"{orders_url(department)}/{order_uuid}", body, format="json")

        assert response.status_code == 409
        assert response.json()["errors"][0]["errorCode"] == "ORDER_CLOSED"
        assert response.json()["orderUUID"] == order_uuid


class TestErrorsNameTheOrder:
    def test_412_names_the_order(self, api, department, customer):
        order_uuid = create(api, department, minimal_body(customer))

        response = api.put(
            f"{orders_url(department)}/{order_uuid}", minimal_body(customer), format="json", HTTP_IF_MATCH='"7"'
        )

        assert response.status_code == 412
        assert (response.json()["orderUUID"], response.json()["statusCode"]) == (order_uuid, 412)

    def test_a_duplicate_on_update_and_a_bad_body_name_the_order(self, api, department, customer):
        create(api, department, minimal_body(customer, number="RO-1"))
        order_uuid = create(api, department, minimal_body(customer, number="RO-2"))
        url = f"{orders_url(department)}/{order_uuid}"

        duplicate = api.put(url, minimal_body(customer, number="RO-1"), format="json")
        bad = api.put(url, {"order": {"type": "XX"}}, format="json")

        assert (duplicate.status_code, duplicate.json()["orderUUID"]) == (409, order_uuid)
        assert (bad.status_code, bad.json()["orderUUID"]) == (400, order_uuid)

    def test_an_unknown_order_still_answers_null(self, api, department, customer):
        response = api.put(f"{orders_url(department)}/{'0' * 8}-0000-4000-8000-{'0' * 12}", {}, format="json")

        assert (response.status_code, response.json()["orderUUID"]) == (404, None)


class TestConditionalRead:
    def test_if_none_match_with_the_current_etag_answers_304_without_a_body(self, api, department, customer):
        url = f"{orders_url(department)}/{create(api, department, minimal_body(customer))}"
        etag = api.get(url)["ETag"]

        response = api.get(url, HTTP_IF_NONE_MATCH=etag)

        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag

    @pytest.mark.parametrize("header", ['W/"1"', '"0", "1"', "*"])
    def test_every_spelling_of_the_current_version_matches(self, api, department, customer, header):
        url = f"{orders_url(department)}/{create(api, department, minimal_body(customer))}"

        assert api.get(url, HTTP_IF_NONE_MATCH=header).status_code == 304

    def test_an_older_etag_gets_the_new_version(self, api, department, customer):
        body = minimal_body(customer)
        url = f"{orders_url(department)}/{create(api, department, body)}"
        body["order"]["header"]["description"] = "changed"
        api.put(url, body, format="json")

        response = api.get(url, HTTP_IF_NONE_MATCH='"1"')

        assert response.status_code == 200
        assert response["ETag"] == '"2"' and response.json()["order"]["version"] == 2


class TestListFilters:
    def test_the_customer_filter_answers_that_customers_orders(self, api, department, customer):
        other = CustomerFactory(dealer=department.dealer)
        mine = create(api, department, minimal_body(customer, number="RO-1"))
        create(api, department, minimal_body(other, number="RO-2"))

        response = api.get(orders_url(department), {"customer": str(customer.uuid)})

        assert response.status_code == 200
        assert [order["orderUUID"] for order in response.json()["results"]] == [mine]

    def test_an_unencoded_plus_in_updated_since_is_read_as_plus(self, api, department, customer):
        create(api, department, minimal_body(customer))

        # "+01:00" sent raw in a query string arrives as " 01:00"
        raw = api.get(f"{orders_url(department)}?updatedSince=2000-01-01T09:00:00+01:00")
        encoded = api.get(orders_url(department), {"updatedSince": "2000-01-01T09:00:00+01:00"})
        future = api.get(f"{orders_url(department)}?updatedSince=2999-01-01T09:00:00+01:00")

        assert raw.status_code == encoded.status_code == future.status_code == 200
        assert len(raw.json()["results"]) == len(encoded.json()["results"]) == 1
        assert future.json()["results"] == []

    def test_a_refused_value_is_quoted_in_the_message(self, api, department):
        response = api.get(orders_url(department), {"updatedSince": "last tuesday"})

        assert response.status_code == 400
        assert "not 'last tuesday'" in response.json()["errors"][0]["errorDescription"]


class TestForbiddenNamesTheScope:
    def test_403_names_the_missing_scope_and_the_department(self, department, customer):
        partner = PartnerFactory()
        GrantFactory(partner=partner, department=department, scopes=["order.read"])

        response = client_for(partner).put(orders_url(department), minimal_body(customer), format="json")

        assert response.status_code == 403
        description = response.json()["errors"][0]["errorDescription"]
        assert "order.create" in description and str(department.uuid) in description

    def test_the_parts_family_names_it_too(self):
        store = DepartmentFactory()
        partner = PartnerFactory()
        GrantFactory(partner=partner, department=store, scopes=["parts.read"])

        response = client_for(partner).post(
            f"/parts-api/{store.dealer.uuid}/{store.uuid}/v1/parts-orders", {}, format="json"
        )

        assert response.status_code == 403
        assert "parts.order" in response.json()["message"]


class TestCloseBeforeCreate:
    @pytest.mark.parametrize(
        "close_date, close_time, warned",
        [
            ("2024-01-31", None, True),
            ("2024-02-01", "07:59:59", True),
            ("2024-02-01", "08:00:00", False),
            ("2024-02-01", None, False),
            ("2024-02-02", "00:00:00", False),
        ],
    )
    def test_a_close_before_the_creation_is_warned_about(
        self, api, department, customer, close_date, close_time, warned
    ):
        body = minimal_body(customer, date="2024-02-01", time="08:00:00")
        body["order"]["header"]["closeDate"] = close_date
        if close_time:
            body["order"]["header"]["closeTime"] = close_time

        response = api.put(orders_url(department), body, format="json")

        assert response.status_code == 201
        codes = [warning["warningCode"] for warning in response.json()["warnings"]]
        assert (1005 in codes) is warned
