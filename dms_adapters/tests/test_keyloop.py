"""The Keyloop adapter against the strict peer: seed 002's request field by field, its 201 and 202, polling
and the mapping of line statuses, its refusals and the transient failures."""

from __future__ import annotations

from typing import Any

import pytest

from dms_adapters.base import DmsError, Reason
from dms_adapters.keyloop import KeyloopAdapter
from dms_adapters.registry import adapter_for
from parts.models import PartsOrder
from parts.tests.factories import SEED_002_REQUEST, PartFactory, StockFactory, base_url, seed_002_world
from tenancy.choices import DmsKind

from .peer import json_shape

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(department, dms_peer) -> KeyloopAdapter:
    adapter = adapter_for(dms_peer.connect(department.dealer, DmsKind.KEYLOOP))
    assert isinstance(adapter, KeyloopAdapter)
    adapter.read_timeout = 0.3
    return adapter


@pytest.fixture
def world(department) -> dict[str, Any]:
    return seed_002_world(department)


def placed(api, department, body: dict[str, Any]) -> PartsOrder:
    """A parts order placed through OrMa's API, as a partner would."""
    response = api.post(f"{base_url(department)}/parts-orders", body, format="json")
    assert response.status_code == 202, response.json()  # a networked DMS takes it in the background
    return PartsOrder.objects.select_related("department", "customer", "company").get(
        number=response.json()["partsOrderId"]
    )


@pytest.fixture
def parts_order(adapter, api, department, world) -> PartsOrder:
    return placed(api, department, world["body"])


@pytest.fixture
def two_line_order(adapter, api, department, world) -> PartsOrder:
    wiper = PartFactory(dealer=department.dealer, part_id="S1111111", brand_code="S", part_code="1111111")
    StockFactory(department=department, part=wiper, on_hand=5)
    body = world["body"]
    body["parts"].append({"part": {"partId": "S1111111"}, "quantity": 2})
    return placed(api, department, body)


def submitted(adapter, parts_order: PartsOrder):
    """Submit, and keep the DMS's partsOrderId as the outbox will."""
    receipt = adapter.submit_parts_order(parts_order)
    parts_order.dms_order_number = receipt.dms_order_number
    return receipt


class TestSubmit:
    def test_it_sends_seed_002s_request_field_by_field(self, adapter, dms_peer, department, world, parts_order):
        adapter.submit_parts_order(parts_order)

        [request] = dms_peer.requests
        assert (request.method, request.status) == ("POST", 201)
        assert request.path == f"/{department.dealer.uuid}/{department.dms_id}/v1/parts-orders"
        assert json_shape(request.body) == json_shape(
            SEED_002_REQUEST
        )  # every field of seed 002's sample, in its order
        assert request.body == {
            "customerId": "123e4569-e89b-12e3-a452-426655440001",
            "companyId": str(world["company"].uuid),
            "orderContact": {
                "name": "Cate ContactPerson",
                "phone": "123-4567890",
                "email": "cate.contactperson@company.com",
                "companyName": "Company Ltd.",
            },
            "alternateDeliveryAddress": {
                "streetName": "Narrow street",
                "postalCode": "123456",
                "city": "Smalltown",
                "countryCode": "GB",
            },
            "orderType": "VOR",
            "orderReference": "Parts for Golf XN06 TTY",
            "parts": [
                {
                    "part": {"partId": "S7654321", "brandCode": "S", "partCode": "7654321"},
                    "quantity": 10,
                    "mandatoryVehicleReferences": [{"type": "KEYNUMBER", "value": "AO339223X/2926"}],
                }
            ],
        }
        assert request.header("Idempotency-Key") == str(parts_order.uuid)
        assert request.header("Authorization") == "Basic ZG1zLXVzZXI6ZG1zLXNlY3JldA=="

    def test_without_an_alternate_address_it_sends_the_one_orma_answered(
        self, adapter, dms_peer, api, department, world
    ):
        del world["body"]["alternateDeliveryAddress"]
        customer = world["customer"]

        adapter.submit_parts_order(placed(api, department, world["body"]))

        assert dms_peer.requests[0].body["alternateDeliveryAddress"] == {
            "streetName": customer.street_name,
            "postalCode": customer.postal_code,
            "city": customer.city,
            "countryCode": customer.country_code,
        }

    def test_a_201_gives_the_dms_order_number_and_the_line_statuses(self, adapter, dms_peer, parts_order):
        receipt = adapter.submit_parts_order(parts_order)

        [line] = parts_order.lines.all()
        assert receipt.accepted and receipt.dms_order_number == "123445677"
        assert receipt.line_statuses == {str(line.uuid): "RESERVED"}
        assert (receipt.order_status, receipt.unmapped) == ("CONFIRMED", ())
        assert receipt.attempt.status == 201

    def test_a_back_ordered_line_is_reported_so(self, adapter, dms_peer, two_line_order):
        dms_peer.backorder_parts = {"S1111111"}

        receipt = adapter.submit_parts_order(two_line_order)

        first, second = two_line_order.lines.order_by("position")
        assert receipt.line_statuses == {str(first.uuid): "RESERVED", str(second.uuid): "BACKORDER"}
        assert receipt.order_status == "INPROGRESS"

    def test_parts_as_one_object_as_seed_002s_sample_shows_it_is_read_too(self, adapter, dms_peer, parts_order):
        dms_peer.parts_as_object = True

        receipt = adapter.submit_parts_order(parts_order)

        assert list(receipt.line_statuses.values()) == ["RESERVED"]

    def test_a_202_queues_the_order_to_be_polled(self, adapter, dms_peer, parts_order):
        dms_peer.parts_orders_async = True

        receipt = adapter.submit_parts_order(parts_order)

        assert (receipt.accepted, receipt.dms_order_number, receipt.line_statuses) == (False, "123445677", {})
        assert dms_peer.requests[0].status == 202

    def test_a_repeated_submit_is_the_same_dms_order(self, adapter, dms_peer, parts_order):
        first = adapter.submit_parts_order(parts_order)
        again = adapter.submit_parts_order(parts_order)  # the first answer was lost, say

        assert again.dms_order_number == first.dms_order_number
        assert len(dms_peer.parts_orders) == 1

    def test_a_base_url_with_seed_002s_server_variables_gets_them_filled_in(self, adapter, dms_peer, parts_order):
        adapter.dealer.dms_base_url = f"{dms_peer.base_url}/{{enterpriseId}}/{{storeId}}/v1"

        adapter.submit_parts_order(parts_order)

        department = parts_order.department
        assert dms_peer.requests[0].path == f"/{department.dealer.uuid}/{department.dms_id}/v1/parts-orders"
        assert adapter.reachability_url == f"{dms_peer.base_url}/"
        assert adapter.reachability() == "ok"


class TestPoll:
    def test_line_statuses_follow_the_dms_by_position(self, adapter, dms_peer, two_line_order):
        dms_peer.parts_orders_async = True
        receipt = submitted(adapter, two_line_order)
        first, second = two_line_order.lines.order_by("position")

        polled = adapter.poll_parts_order(two_line_order)
        assert polled.accepted and polled.line_statuses == {str(first.uuid): "RESERVED", str(second.uuid): "RESERVED"}

        dms_peer.set_line_statuses(receipt.dms_order_number, ["INTRANSIT", "CANCELLED"])
        polled = adapter.poll_parts_order(two_line_order)

        assert polled.line_statuses == {str(first.uuid): "INTRANSIT", str(second.uuid): "CANCELLED"}
        assert (polled.order_status, polled.dms_order_number) == ("SHIPPED", receipt.dms_order_number)
        poll_request = dms_peer.requests[-1]
        assert (poll_request.method, poll_request.status) == ("GET", 200)
        assert poll_request.path.endswith(f"/v1/parts-orders/{receipt.dms_order_number}")

    def test_every_seed_002_line_status_maps_to_orma_s(self, adapter, dms_peer, parts_order):
        receipt = submitted(adapter, parts_order)
        [line] = parts_order.lines.all()
        seed_002_statuses = "OPEN RESERVED ISSUED BACKORDER PACKED INTRANSIT DELIVERED CANCELLED INVOICED".split()

        seen = []
        for status in seed_002_statuses:
            dms_peer.set_line_statuses(receipt.dms_order_number, [status])
            seen.append(adapter.poll_parts_order(parts_order).line_statuses[str(line.uuid)])

        assert seen == seed_002_statuses

    def test_an_unknown_line_status_is_left_out_and_named(self, adapter, dms_peer, parts_order):
        receipt = submitted(adapter, parts_order)
        dms_peer.set_line_statuses(receipt.dms_order_number, ["LOST_IN_SPACE"])

        polled = adapter.poll_parts_order(parts_order)

        assert polled.line_statuses == {}
        assert polled.unmapped == ("parts[0] has an unknown partsOrderLineStatus 'LOST_IN_SPACE'",)

    def test_an_order_the_dms_does_not_show_is_transient(self, adapter, dms_peer, parts_order):
        parts_order.dms_order_number = "999"

        with pytest.raises(DmsError) as raised:
            adapter.poll_parts_order(parts_order)

        error = raised.value
        assert (error.permanent, error.status_code) == (False, 404)
        assert error.errors == [{"field": "partsOrderId", "value": "999", "issue": "no such parts order"}]

    def test_an_order_never_submitted_cannot_be_polled(self, adapter, dms_peer, parts_order):
        with pytest.raises(DmsError) as raised:
            adapter.poll_parts_order(parts_order)

        assert raised.value.permanent and dms_peer.requests == []


class TestFailures:
    def test_a_refusal_is_permanent_with_the_dms_s_details(self, adapter, dms_peer, parts_order):
        details = [{"field": "customerId", "value": str(parts_order.customer.uuid), "issue": "unknown customer"}]
        dms_peer.refuse(details, message="Invalid request")

        with pytest.raises(DmsError) as raised:
            adapter.submit_parts_order(parts_order)

        error = raised.value
        assert (error.permanent, error.reason, error.status_code) == (True, Reason.BUSINESS, 400)
        assert error.errors == details and "Invalid request" in error.message
        assert dms_peer.parts_orders == {}

    def test_a_field_the_dms_refuses_is_named(self, adapter, dms_peer, parts_order):
        parts_order.order_type = "URGENT"  # not what OrMa stores: the peer's check

        with pytest.raises(DmsError) as raised:
            adapter.submit_parts_order(parts_order)

        [detail] = raised.value.errors
        assert detail["field"] == "orderType" and detail["value"] == "URGENT"
        assert raised.value.permanent

    @pytest.mark.parametrize(
        ("status", "reason"), [(500, Reason.SERVER), (503, Reason.SERVER), (429, Reason.RATE_LIMITED)]
    )
    def test_5xx_and_429_are_transient(self, adapter, dms_peer, parts_order, status, reason):
        dms_peer.fail(status, retry_after=30)

        with pytest.raises(DmsError) as raised:
            adapter.submit_parts_order(parts_order)

        error = raised.value
        assert (error.permanent, error.reason, error.retry_after) == (False, reason, 30.0)
        assert dms_peer.parts_orders == {}

    def test_a_hanging_dms_times_out(self, adapter, dms_peer, parts_order):
        dms_peer.hang(10, method="POST")

        with pytest.raises(DmsError) as raised:
            adapter.submit_parts_order(parts_order)

        assert (raised.value.permanent, raised.value.reason) == (False, Reason.TIMEOUT)
        again = adapter.submit_parts_order(parts_order)  # the retry
        dms_peer.release()
        dms_peer.wait_idle()
        assert list(dms_peer.parts_orders) == [int(again.dms_order_number)]  # the held one did not add a second
