"""The strict DMS peer itself: it must refuse what the seeds refuse (or the adapter tests prove nothing), apply
seed 001's ±30-day rule at its boundaries, de-duplicate, obey its faults, and stop promptly."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

import pytest
import requests

from parts.tests.factories import SEED_002_REQUEST

from .peer import DmsPeer

DEPARTMENT = "dep-1"
AUTH = ("dms-user", "dms-secret")


def order_body(number: str = "RO-1", date: str = "2024-02-01", time_: str = "08:00:00", **header: Any) -> dict:
    return {
        "order": {
            "type": "RO",
            "header": {
                "orderNumber": number,
                "status": "OPENED",
                "advisorNumber": "ADV-1",
                "createDate": date,
                "createTime": time_,
                **header,
            },
            "customer": {"uuid": str(uuid.uuid4())},
        }
    }


def put(peer: DmsPeer, body: Any, *, path: str = "", key: str | None = None, auth=AUTH, **kwargs: Any):
    headers = {"Idempotency-Key": key} if key else {}
    url = f"{peer.base_url}/order/v2/department/{DEPARTMENT}/order{path}"
    return requests.put(url, json=body, auth=auth, headers=headers, timeout=5, **kwargs)


def post_parts_order(peer: DmsPeer, body: Any, **kwargs: Any):
    url = f"{peer.base_url}/ent-1/store-1/v1/parts-orders"
    return requests.post(url, json=body, auth=AUTH, timeout=5, **kwargs)


def descriptions(response) -> list[str]:
    return [error["errorDescription"] for error in response.json()["errors"]]


class TestSeed001:
    def test_it_answers_a_create_in_seed_001s_envelope(self, dms_peer):
        response = put(dms_peer, order_body())

        assert response.status_code == 201
        answer = response.json()
        assert list(answer) == ["errors", "warnings", "orderUUID", "statusCode"]
        assert (answer["errors"], answer["warnings"], answer["statusCode"]) == ([], [], 201)
        assert answer["orderUUID"] in dms_peer.repair_orders

    def test_it_refuses_without_the_right_credentials(self, dms_peer):
        for auth in (None, ("dms-user", "wrong")):
            response = put(dms_peer, order_body(), auth=auth)
            assert response.status_code == 401
            assert response.json()["errors"][0]["errorCode"] == "UNAUTHENTICATED"
            assert response.headers["WWW-Authenticate"] == 'Basic realm="dms"'

    def test_it_reports_every_problem_of_a_body_at_once_with_its_path(self, dms_peer):
        body = order_body(
            date="2024-02-30",
            time_="8:00:00",
            laborCost="12.345",
            waiter="yes",
            mileageIn=45210,
            voidDate="2024-03-01",
            advisorNumber="",
        )
        body["order"]["header"]["orderNumber"] = "RO/1"
        body["order"]["customer"] = {}
        body["order"]["jobs"] = [{"jobNumberString": "A", "parts": [{"description": "no number"}]}]
        body["order"]["surprise"] = True

        response = put(dms_peer, body)

        assert response.status_code == 400
        assert {e["errorCode"] for e in response.json()["errors"]} == {
            "FIELD_INVALID",
            "FIELD_REQUIRED",
            "FIELD_UNKNOWN",
        }
        assert [d.split(" (value")[0] for d in descriptions(response)] == [
            "order.surprise is not a field of this request",  # an object's unknown fields first
            "order.header.orderNumber must be ^[a-zA-Z0-9-#_\\s]*$",
            "order.header.mileageIn must be a string",
            "order.header.createDate must be a real date yyyy-MM-dd",
            "order.header.createTime must be time HH:mm:ss",
            "order.header.voidDate must be a real date-time yyyy-MM-dd HH:mm:ss",
            "order.header.waiter must be one of Y, N",
            'order.header.laborCost must be numeric with up to 2 decimal places, like "12.56"',
            "order.customer.uuid is required",
            "order.jobs[0].laborOpCode is required",
            "order.jobs[0].parts[0].partNumber is required",
            "order.header.advisorNumber or assignedUserUuid is required",
        ]
        assert dms_peer.repair_orders == {}

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [(b"{not json", "application/json"), (b'{"orders": {}}', "application/json"), (b"{}", "text/plain")],
    )
    def test_a_body_that_is_no_order_is_malformed(self, dms_peer, body, content_type):
        url = f"{dms_peer.base_url}/order/v2/department/{DEPARTMENT}/order"

        response = requests.put(url, data=body, headers={"Content-Type": content_type}, auth=AUTH, timeout=5)

        assert response.status_code == 400
        assert response.json()["errors"][0]["errorCode"] == "MALFORMED_JSON"

    @pytest.mark.parametrize(
        ("date", "time_", "duplicate"),
        [
            ("2024-03-02", "08:00:00", True),  # 30 days later, to the second
            ("2024-03-02", "08:00:01", False),  # 30 days and 1 second
            ("2024-01-02", "08:00:00", True),  # 30 days earlier
            ("2024-01-02", "07:59:59", False),
            ("2024-02-10", "00:00:00", True),  # seed 001's "same order" example
            ("2025-02-01", "08:00:00", False),  # seed 001's "different order" example
        ],
    )
    def test_its_duplicate_rule_is_seed_001s_30_day_window(self, dms_peer, date, time_, duplicate):
        existing = put(dms_peer, order_body()).json()["orderUUID"]

        response = put(dms_peer, order_body(date=date, time_=time_))

        if duplicate:
            assert response.status_code == 409
            [error] = response.json()["errors"]
            assert error["errorCode"] == "DUPLICATE_ORDER" and existing in error["errorDescription"]
        else:
            assert response.status_code == 201 and len(dms_peer.repair_orders) == 2

    def test_it_names_the_closest_order_and_keeps_departments_apart(self, dms_peer):
        dms_peer.add_repair_order("other", order_number="RO-1", create_date="2024-02-01", create_time="08:00:00")
        far = dms_peer.add_repair_order(
            DEPARTMENT, order_number="RO-1", create_date="2024-01-05", create_time="08:00:00"
        )
        near = dms_peer.add_repair_order(
            DEPARTMENT, order_number="RO-1", create_date="2024-02-20", create_time="08:00:00"
        )

        response = put(dms_peer, order_body(date="2024-02-12"))

        assert near in descriptions(response)[0] and far not in descriptions(response)[0]

    def test_an_update_changing_number_into_anothers_window_is_a_duplicate(self, dms_peer):
        put(dms_peer, order_body("RO-1"))
        second = put(dms_peer, order_body("RO-2")).json()["orderUUID"]

        response = put(dms_peer, order_body("RO-1", date="2024-02-05"), path=f"/{second}")

        assert response.status_code == 409

    def test_an_update_of_an_unknown_order_is_not_found(self, dms_peer):
        response = put(dms_peer, order_body(), path=f"/{uuid.uuid4()}")

        assert response.status_code == 404 and response.json()["errors"][0]["errorCode"] == "NOT_FOUND"

    def test_it_recognises_orma_s_order_by_the_idempotency_key(self, dms_peer):
        order_uuid = str(uuid.uuid4())
        first = put(dms_peer, order_body(), key=f"{order_uuid}:1")
        again = put(dms_peer, order_body(), key=f"{order_uuid}:1")
        renumbered = put(dms_peer, order_body("RO-99"), key=f"{order_uuid}:2")  # would escape the duplicate rule

        assert (first.status_code, again.status_code, renumbered.status_code) == (201, 200, 200)
        assert {r.json()["orderUUID"] for r in (first, again, renumbered)} == {first.json()["orderUUID"]}
        [held] = dms_peer.orders_of(order_uuid)
        assert (held.order_number, held.version, held.writes) == ("RO-99", 2, [1, 1, 2])
        assert dms_peer.versions_seen(order_uuid) == [1, 1, 2]


class TestSeed002:
    def test_it_takes_seed_002s_sample_and_answers_its_201_body(self, dms_peer):
        body = copy.deepcopy(SEED_002_REQUEST)
        body["companyId"] = str(uuid.uuid4())  # the sample's is no UUID

        response = post_parts_order(dms_peer, body)

        assert response.status_code == 201
        answer = response.json()
        assert answer["partsOrderId"] == 123445677 and answer["orderStatus"] == "CONFIRMED"
        assert answer["parts"][0]["partsOrderLineStatus"] == "RESERVED"
        assert answer["parts"][0]["mandatoryVehicleReference"] == {"type": "KEYNUMBER", "value": "AO339223X/2926"}

    def test_it_reports_every_problem_in_seed_002s_error_shape(self, dms_peer):
        body = {
            "customerId": "not-a-uuid",
            "orderType": "SOON",
            "extra": 1,
            "parts": [
                {"part": {"partId": "S1", "brandCode": "S", "partCode": "2"}, "quantity": 0},
                {"part": {}, "quantity": True},
            ],
        }

        response = post_parts_order(dms_peer, body, headers={"X-Correlation-ID": "corr-1"})

        assert response.status_code == 400
        answer = response.json()
        assert (answer["correlationId"], answer["message"]) == ("corr-1", "Invalid request")
        assert [(d["field"], d["issue"].split(":")[0]) for d in answer["details"]] == [
            ("extra", "FIELD_UNKNOWN"),
            ("customerId", "FIELD_INVALID"),
            ("orderType", "FIELD_INVALID"),
            ("parts[0].quantity", "FIELD_INVALID"),
            ("parts[1].quantity", "FIELD_INVALID"),
            ("parts[0].part.partId", "FIELD_INVALID"),
            ("parts[1].part.partId", "FIELD_REQUIRED"),
        ]
        assert dms_peer.parts_orders == {}

    def test_an_unknown_parts_order_is_404_in_seed_002s_shape(self, dms_peer):
        response = requests.get(f"{dms_peer.base_url}/ent-1/store-1/v1/parts-orders/1", auth=AUTH, timeout=5)

        assert response.status_code == 404
        assert set(response.json()) == {"correlationId", "message", "details", "links"}


class TestFaults:
    def test_a_fault_lasts_its_times_and_matches_its_path(self, dms_peer):
        dms_peer.fail(500, times=2, path="/order$")

        statuses = [put(dms_peer, order_body(f"RO-{n}")).status_code for n in range(3)]
        other = post_parts_order(dms_peer, {"customerId": "x"})

        assert statuses == [500, 500, 201] and other.status_code == 400
        assert [r.status for r in dms_peer.requests] == [500, 500, 201, 400]

    def test_a_429_carries_retry_after(self, dms_peer):
        dms_peer.fail(429, retry_after=9, times=None)

        responses = [put(dms_peer, order_body()) for _ in range(2)]

        assert [(r.status_code, r.headers["Retry-After"]) for r in responses] == [(429, "9"), (429, "9")]

    def test_stopping_lets_a_held_request_go_at_once(self) -> None:
        peer = DmsPeer().start()
        try:
            peer.hang(60)
            outcome: list[int] = []
            client = threading.Thread(target=lambda: outcome.append(put(peer, order_body()).status_code))
            client.start()
            deadline = time.monotonic() + 5
            while not peer.requests and time.monotonic() < deadline:
                time.sleep(0.01)

            started = time.monotonic()
            peer.stop()
            client.join(timeout=5)

            assert time.monotonic() - started < 2
            assert outcome == [201]  # the held request did its work and was answered
        finally:
            peer.stop()  # stopping twice is harmless
