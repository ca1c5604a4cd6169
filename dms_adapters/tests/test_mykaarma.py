"""The myKaarma adapter against the strict peer: seed 001's body field by field, create then update, the
DMS's refusals and duplicate answer, and every transient failure the outbox will retry."""

from __future__ import annotations

import copy
import datetime as dt
import email.utils
from typing import Any

import pytest

from dms_adapters.base import DmsError, Reason, RepairOrderReceipt, RequestSummary
from dms_adapters.mykaarma import MyKaarmaAdapter
from dms_adapters.registry import adapter_for
from orders.models import RepairOrder
from orders.tests.factories import (
    CustomerFactory,
    VehicleFactory,
    make_package,
    minimal_body,
    orders_url,
    sample_body,
)
from tenancy.choices import DmsKind

from .peer import json_shape

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(department, dms_peer) -> MyKaarmaAdapter:
    adapter = adapter_for(dms_peer.connect(department.dealer, DmsKind.MYKAARMA))
    assert isinstance(adapter, MyKaarmaAdapter)
    adapter.read_timeout = 0.3  # a hanging peer times out fast
    return adapter


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


@pytest.fixture
def vehicle(department, customer):
    return VehicleFactory(dealer=department.dealer, customer=customer)


def stored(api, department, body: dict[str, Any], order_uuid: str | None = None) -> RepairOrder:
    """Create (or update) an order through OrMa's API, as a partner would, and load the stored row."""
    if order_uuid is None:
        response = api.put(orders_url(department), body, format="json")
        assert response.status_code == 201, response.json()
    else:
        response = api.put(f"{orders_url(department)}/{order_uuid}", body, format="json")
        assert response.status_code == 200, response.json()
    return RepairOrder.objects.select_related("department").get(uuid=response.json()["orderUUID"])


@pytest.fixture
def sample_order(api, department, customer, vehicle) -> RepairOrder:
    return stored(api, department, sample_body(customer, vehicle))


def push(adapter, repair_order, dms_order_uuid=None) -> RepairOrderReceipt:
    return adapter.push_repair_order(repair_order, dms_order_uuid=dms_order_uuid)


class TestTheBody:
    def test_it_sends_every_field_of_the_seed_001_sample_in_seed_001s_order(
        self, adapter, dms_peer, department, customer, vehicle, sample_order
    ):
        push(adapter, sample_order)

        [request] = dms_peer.requests
        assert (request.method, request.path, request.status) == (
            "PUT",
            f"/order/v2/department/{department.dms_id}/order",
            201,
        )
        sent = request.body["order"]
        seed_sample = sample_body(customer, vehicle)["order"]
        # Every field of the sample (it fills every field seed 001 names), where seed 001 puts it; the
        # vehicle also carries the VIN OrMa knows it by (WorkshopOrder 2.x).
        assert json_shape({**sent, "vehicle": {"uuid": ""}}) == json_shape(seed_sample)
        assert sent["vehicle"] == {"uuid": str(vehicle.uuid), "vin": vehicle.vin}
        # ... with the values as OrMa stored and answers them, field by field.
        assert sent == sample_order.document
        assert sent["customer"] == {"uuid": str(customer.uuid)}
        assert (sent["header"]["soldHours"], sent["header"]["laborSaleInternal"]) == ("1.50", "0.00")
        assert sent["jobs"][0]["parts"][0]["quantityOrdered"] == "1.00"
        assert sent["mls"][0]["poCreateDate"] == "2024-02-01"

    def test_it_identifies_the_push_and_authenticates_as_the_dealer(self, adapter, dms_peer, sample_order):
        receipt = push(adapter, sample_order)

        [request] = dms_peer.requests
        assert request.header("Idempotency-Key") == f"{sample_order.uuid}:1"
        assert request.header("Authorization") == "Basic ZG1zLXVzZXI6ZG1zLXNlY3JldA=="  # dms-user:dms-secret
        assert request.header("Content-Type") == "application/json"
        assert request.header("X-Correlation-ID") == receipt.attempt.correlation_id

    def test_an_order_without_vehicle_or_jobs_is_sent_without_them(self, adapter, dms_peer, api, department, customer):
        repair_order = stored(api, department, minimal_body(customer))

        push(adapter, repair_order)

        [request] = dms_peer.requests
        assert request.status == 201
        assert list(request.body["order"]) == ["type", "header", "customer"]
        assert request.body["order"]["header"] == {
            "orderNumber": "RO-1",
            "status": "OPENED",
            "advisorNumber": "ADV-1",
            "createDate": "2024-02-01",
            "createTime": "08:00:00",
        }

    def test_it_sends_the_workshop_order_2x_additions_where_design_puts_them(
        self, adapter, dms_peer, api, department, customer
    ):
        make_package(department.dealer, "OIL-SERVICE", "149.00")
        body = minimal_body(customer, jobs=1)
        order = body["order"]
        order["vehicle"] = {"vin": "WVWZZZ1JZXW000777"}
        order["references"] = [{"type": "PARTNER_ORDER_ID", "value": "P-77"}, {"type": "BOOKING", "value": "B-1"}]
        order["customerContact"] = {"name": "Anna Kontakt", "phone": "+49 30 1", "email": "anna@example.com"}
        order["warranty"] = {
            "warrantyStartDate": "2022-01-01",
            "extendedWarrantyUntil": "2027-01-01",
            "claimReference": "C-9",
        }
        job = order["jobs"][0]
        job["packages"] = [{"packageCode": "OIL-SERVICE", "quantity": "2"}]
        job["mls"] = [
            {
                "mlsType": "SUBLET",
                "opCode": "GLASS",
                "salePrice": "80",
                "description": "Windscreen",
                "vendor": "Glas AG",
            }
        ]
        repair_order = stored(api, department, body)

        push(adapter, repair_order)

        [request] = dms_peer.requests
        assert request.status == 201  # the strict peer knew every field
        sent, document = request.body["order"], repair_order.document
        assert sent["vehicle"] == document["vehicle"] and sent["vehicle"]["vin"] == "WVWZZZ1JZXW000777"
        assert sent["references"] == order["references"]
        assert sent["customerContact"] == order["customerContact"]
        assert sent["warranty"] == order["warranty"]
        [sent_job] = sent["jobs"]
        assert sent_job["mls"] == [
            {
                "opCode": "GLASS",
                "salePrice": "80.00",
                "mlsType": "SUBLET",
                "description": "Windscreen",
                "vendor": "Glas AG",
            }
        ]
        # The package as a partner sends it, with the lines it expanded into (OrMa's own price fields stay home).
        assert sent_job["packages"] == [{"packageCode": "OIL-SERVICE", "quantity": "2.00"}]
        assert sent_job["labour"] == document["jobs"][0]["labour"]
        assert {"partNumber": "06L115562B", "packageCode": "OIL-SERVICE"}.items() <= sent_job["parts"][-1].items()

    def test_a_field_the_dms_refuses_comes_back_as_a_permanent_error_naming_it(self, adapter, dms_peer, sample_order):
        sample_order.document = copy.deepcopy(sample_order.document)
        sample_order.document["header"]["laborCost"] = "60.001"  # not what OrMa stores: the peer's check

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert (error.permanent, error.reason, error.status_code) == (True, Reason.BUSINESS, 400)
        [dms_error] = error.errors
        assert dms_error["errorCode"] == "FIELD_INVALID"
        assert dms_error["errorDescription"].startswith("order.header.laborCost must be numeric")
        assert dms_peer.repair_orders == {}


class TestCreateThenUpdate:
    def test_it_keeps_the_dms_order_and_updates_it_with_a_later_version(
        self, adapter, dms_peer, api, department, customer, vehicle, sample_order
    ):
        created = push(adapter, sample_order)
        body = sample_body(customer, vehicle)
        body["order"]["header"]["description"] = "Oil service, brakes and wipers"
        updated_order = stored(api, department, body, order_uuid=str(sample_order.uuid))
        assert updated_order.version == 2

        updated = push(adapter, updated_order, created.dms_order_uuid)

        assert created.created and not updated.created and not updated.linked
        assert updated.dms_order_uuid == created.dms_order_uuid
        assert updated.dms_order_number == "RO-1234"
        create_request, update_request = dms_peer.requests
        assert update_request.path == f"/order/v2/department/{department.dms_id}/order/{created.dms_order_uuid}"
        assert (update_request.method, update_request.status) == ("PUT", 200)
        assert update_request.header("Idempotency-Key") == f"{sample_order.uuid}:2"
        [dms_order] = dms_peer.orders_of(sample_order.uuid)
        assert dms_order.order["header"]["description"] == "Oil service, brakes and wipers"
        assert dms_peer.versions_seen(sample_order.uuid) == [1, 2]

    def test_a_repeated_create_lands_on_the_same_dms_order(self, adapter, dms_peer, sample_order):
        first = push(adapter, sample_order)
        again = push(adapter, sample_order)  # the first answer was lost, say

        assert again.dms_order_uuid == first.dms_order_uuid
        assert len(dms_peer.orders_of(sample_order.uuid)) == 1 == len(dms_peer.repair_orders)


class TestRefusals:
    def test_business_errors_are_permanent_and_kept_as_the_dms_worded_them(self, adapter, dms_peer, sample_order):
        dms_peer.refuse(
            [
                {"errorCode": "UNKNOWN_ADVISOR", "errorTitle": "Unknown advisor", "errorDescription": "ADV-7 unknown"},
                {"errorCode": "UNKNOWN_CUSTOMER", "errorTitle": "Unknown customer", "errorDescription": "no such"},
            ]
        )

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert error.permanent and error.reason == Reason.BUSINESS and error.retry_after is None
        assert [e["errorCode"] for e in error.errors] == ["UNKNOWN_ADVISOR", "UNKNOWN_CUSTOMER"]
        assert error.errors[0]["errorDescription"] == "ADV-7 unknown" and error.errors[0]["errorUID"]
        assert "UNKNOWN_ADVISOR: ADV-7 unknown" in error.message
        assert error.attempt.status == 400

    def test_errors_in_a_2xx_envelope_are_a_refusal_too(self, adapter, dms_peer, sample_order):
        dms_peer.refuse([{"errorCode": "REJECTED", "errorDescription": "closed period"}], status=200)

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        assert raised.value.permanent and raised.value.errors[0]["errorCode"] == "REJECTED"

    def test_an_unknown_department_is_permanent(self, adapter, dms_peer, sample_order):
        dms_peer.departments = {"another-department"}

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        assert raised.value.permanent and raised.value.status_code == 404
        assert raised.value.errors[0]["errorCode"] == "NOT_FOUND"


class TestDuplicateAnswer:
    def test_the_order_already_at_the_dms_is_linked_and_updated_in_the_same_attempt(
        self, adapter, dms_peer, department, sample_order
    ):
        # RO-1234 of 2024-02-01 08:30 is at the DMS already as of 2024-02-10: the same order (seed 001's example)
        existing = dms_peer.add_repair_order(
            department.dms_id, order_number="RO-1234", create_date="2024-02-10", create_time="09:00:00"
        )

        receipt = push(adapter, sample_order)

        assert (receipt.dms_order_uuid, receipt.linked, receipt.created) == (existing, True, False)
        create, update = dms_peer.requests
        assert (create.status, update.status) == (409, 200)
        assert create.answer["errors"][0]["errorCode"] == "DUPLICATE_ORDER"
        assert existing in create.answer["errors"][0]["errorDescription"]
        assert update.path.endswith(f"/order/{existing}")
        assert update.body == create.body and update.header("Idempotency-Key") == f"{sample_order.uuid}:1"
        [dms_order] = dms_peer.repair_orders.values()  # no second order
        assert dms_order.uuid == existing and dms_order.order == sample_order.document
        assert [str(r) for r in receipt.attempt.requests] == [
            f"PUT {create.path} -> 409 in {receipt.attempt.requests[0].duration_ms} ms",
            f"PUT {update.path} -> 200 in {receipt.attempt.requests[1].duration_ms} ms",
        ]

    def test_a_duplicate_answer_to_an_update_is_a_refusal(self, adapter, dms_peer, department, sample_order):
        created = push(adapter, sample_order)
        dms_peer.add_repair_order(
            department.dms_id, order_number="RO-1234", create_date="2024-01-20", create_time="08:00:00"
        )

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order, created.dms_order_uuid)

        assert raised.value.permanent and raised.value.errors[0]["errorCode"] == "DUPLICATE_ORDER"

    def test_a_failed_update_after_the_link_still_names_the_linked_order(
        self, adapter, dms_peer, department, sample_order
    ):
        existing = dms_peer.add_repair_order(
            department.dms_id, order_number="RO-1234", create_date="2024-02-01", create_time="08:30:00"
        )
        dms_peer.fail(503, path=f"/order/{existing}$", retry_after=20)

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert not error.permanent and error.dms_order_uuid == existing and error.retry_after == 20
        assert [r.status for r in error.attempt.requests] == [409, 503]


class TestTransientFailures:
    def test_a_5xx_is_transient_and_nothing_is_created(self, adapter, dms_peer, sample_order):
        dms_peer.fail(500)

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert (error.permanent, error.reason, error.status_code, error.retry_after) == (
            False,
            Reason.SERVER,
            500,
            None,
        )
        [request] = error.attempt.requests
        assert (request.method, request.status) == ("PUT", 500)
        assert request.path == f"/order/v2/department/{sample_order.department.dms_id}/order"
        assert dms_peer.repair_orders == {}

    def test_twice_500_then_success_makes_one_order(self, adapter, dms_peer, sample_order):
        dms_peer.fail(500, times=2)
        for _ in range(2):
            with pytest.raises(DmsError):
                push(adapter, sample_order)

        receipt = push(adapter, sample_order)

        assert [dms_order.uuid for dms_order in dms_peer.orders_of(sample_order.uuid)] == [receipt.dms_order_uuid]

    @pytest.mark.parametrize("retry_after", ["7", "in-a-while"])
    def test_a_429_is_transient_with_retry_after_in_seconds(self, adapter, dms_peer, sample_order, retry_after):
        dms_peer.fail(429, retry_after=retry_after)

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert (error.permanent, error.reason, error.status_code) == (False, Reason.RATE_LIMITED, 429)
        assert error.retry_after == (7.0 if retry_after == "7" else None)

    def test_a_retry_after_date_becomes_seconds_from_now(self, adapter, dms_peer, sample_order):
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
        dms_peer.fail(503, retry_after=email.utils.format_datetime(when, usegmt=True))

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        assert 110 <= raised.value.retry_after <= 120

    def test_a_hanging_dms_times_out_and_the_retry_does_not_double_the_order(self, adapter, dms_peer, sample_order):
        dms_peer.hang(10)

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert (error.permanent, error.reason) == (False, Reason.TIMEOUT)
        assert error.attempt.requests[0].status is None and error.attempt.requests[0].error == "ReadTimeout"
        receipt = push(adapter, sample_order)  # the retry, while the DMS still holds the first push
        dms_peer.release()
        dms_peer.wait_idle()  # ... which then does its work too
        assert [dms_order.uuid for dms_order in dms_peer.orders_of(sample_order.uuid)] == [receipt.dms_order_uuid]

    def test_a_refused_connection_is_transient(self, adapter, dms_peer, sample_order):
        dms_peer.stop()

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        assert (raised.value.permanent, raised.value.reason) == (False, Reason.CONNECTION)
        assert raised.value.attempt.requests[0].error == "ConnectionError"

    def test_wrong_dms_credentials_are_a_configuration_fault_not_a_refusal(self, adapter, dms_peer, sample_order):
        adapter.session.auth = ("dms-user", "wrong")

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        error = raised.value
        assert (error.permanent, error.reason, error.status_code) == (False, Reason.CONFIGURATION, 401)
        assert "username and password" in error.message

    def test_a_2xx_without_the_envelope_is_transient(self, adapter, dms_peer, sample_order):
        dms_peer.fail(200)  # {"message": ...}: no orderUUID

        with pytest.raises(DmsError) as raised:
            push(adapter, sample_order)

        assert (raised.value.permanent, raised.value.reason) == (False, Reason.PROTOCOL)


def test_the_attempt_summary_is_ready_for_the_attempt_log(adapter, dms_peer, sample_order):
    receipt = push(adapter, sample_order)

    [request] = receipt.attempt.requests
    assert request == RequestSummary("PUT", dms_peer.requests[0].path, 201, request.duration_ms)
    assert receipt.attempt.as_json() == {
        "correlationId": receipt.attempt.correlation_id,
        "durationMs": receipt.attempt.duration_ms,
        "requests": [
            {"method": "PUT", "path": request.path, "status": 201, "durationMs": request.duration_ms, "error": ""}
        ],
    }
    assert receipt.attempt.duration_ms >= request.duration_ms
