"""The sandbox DMS's documented rules: deterministic DMS orders and numbers, its refusals, and the parts lines'
progression over time (a pure function of the order and the clock)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from dms_adapters.base import DmsError
from dms_adapters.registry import adapter_for
from dms_adapters.sandbox import (
    PROGRESSION,
    SandboxAdapter,
    line_status_at,
    sandbox_parts_order_id,
    sandbox_repair_order,
)
from orders.models import RepairOrder
from orders.tests.factories import CustomerFactory, VehicleFactory, orders_url, sample_body
from parts.models import PartsOrder, PartsOrderLine
from parts.tests.factories import PartFactory, StockFactory, base_url
from tenancy.choices import DmsMode
from tenancy.models import Dealer

ORDER_UUID = uuid.UUID("0b8d3a52-6f6e-4f53-9a37-6a1c4f0b2d11")


def sandbox(mode: str = DmsMode.SYNC) -> SandboxAdapter:
    adapter = adapter_for(Dealer(name="Autohaus Sandbox", dms_mode=mode))
    assert isinstance(adapter, SandboxAdapter)
    return adapter


def order_with(header: dict | None = None, parts: list | None = None, version: int = 1) -> SimpleNamespace:
    """A stand-in for a stored repair order: what the sandbox reads of one."""
    document = {
        "type": "RO",
        "header": {"orderNumber": "RO-1", "status": "OPENED", "advisorNumber": "ADV-1", **(header or {})},
        "customer": {"uuid": str(uuid.uuid4())},
        "jobs": [{"jobNumberString": "A", "laborOpCode": "OIL", "parts": parts or []}],
    }
    return SimpleNamespace(uuid=ORDER_UUID, version=version, document=document)


class TestRepairOrders:
    @pytest.mark.django_db
    def test_it_takes_the_seed_001_sample_and_numbers_it_deterministically(self, api, department):
        customer = CustomerFactory(dealer=department.dealer)
        vehicle = VehicleFactory(dealer=department.dealer, customer=customer)
        response = api.put(orders_url(department), sample_body(customer, vehicle), format="json")
        repair_order = RepairOrder.objects.get(uuid=response.json()["orderUUID"])

        created = sandbox().push_repair_order(repair_order, dms_order_uuid=None)
        updated = sandbox().push_repair_order(repair_order, dms_order_uuid=created.dms_order_uuid)

        expected_uuid = str(uuid.uuid5(uuid.UUID("6f0d3c1e-5a7b-4c2d-9e8f-0a1b2c3d4e5f"), str(repair_order.uuid)))
        assert (created.dms_order_uuid, created.created) == (expected_uuid, True)
        assert (updated.dms_order_uuid, updated.created) == (expected_uuid, False)
        assert created.dms_order_number == updated.dms_order_number == sandbox_repair_order(repair_order.uuid)[1]
        assert created.dms_order_number.startswith("SBX-") and len(created.dms_order_number) == 12
        assert created.warnings == () and created.attempt.requests == ()  # in-process: no HTTP

    def test_a_repeated_create_is_the_same_dms_order(self):
        first = sandbox().push_repair_order(order_with(), dms_order_uuid=None)
        again = sandbox().push_repair_order(order_with(version=2), dms_order_uuid=None)

        assert (again.dms_order_uuid, again.dms_order_number) == (first.dms_order_uuid, first.dms_order_number)

    @pytest.mark.parametrize("advisor", ["X12", "x-7", "UNKNOWN", "unknown-advisor"])
    def test_an_unknown_advisor_is_refused(self, advisor):
        with pytest.raises(DmsError) as raised:
            sandbox().push_repair_order(order_with({"advisorNumber": advisor}), dms_order_uuid=None)

        error = raised.value
        assert error.permanent
        [dms_error] = error.errors
        assert dms_error["errorCode"] == "UNKNOWN_ADVISOR" and dms_error["errorTitle"] == "Unknown advisor"
        assert (
            dms_error["errorDescription"]
            == f"order.header.advisorNumber {advisor} is not an advisor of this department"
        )

    @pytest.mark.parametrize("advisor", ["ADV-7", "7X", "", None])
    def test_any_other_advisor_or_none_is_taken(self, advisor):
        header = {"advisorNumber": advisor, "assignedUserUuid": "u-1"}

        assert sandbox().push_repair_order(order_with(header), dms_order_uuid=None).created

    def test_a_closed_order_is_not_created_but_may_be_closed_by_an_update(self):
        closed = order_with({"status": "CLOSED"})
        dms_order_uuid, _ = sandbox_repair_order(ORDER_UUID)

        with pytest.raises(DmsError) as raised:
            sandbox().push_repair_order(closed, dms_order_uuid=None)

        assert [e["errorCode"] for e in raised.value.errors] == ["ORDER_CLOSED"]
        assert sandbox().push_repair_order(closed, dms_order_uuid=dms_order_uuid).dms_order_uuid == dms_order_uuid

    def test_an_update_of_a_dms_order_it_did_not_issue_is_refused(self):
        with pytest.raises(DmsError) as raised:
            sandbox().push_repair_order(order_with(), dms_order_uuid=str(uuid.uuid4()))

        assert [e["errorCode"] for e in raised.value.errors] == ["NOT_FOUND"]

    def test_it_reports_every_refusal_at_once_with_stable_error_uids(self):
        order = order_with(
            {"advisorNumber": "X1", "status": "CLOSED"}, parts=[{"partNumber": "P-1"}, {"partNumber": "unknown-9"}]
        )

        errors = []
        for _ in range(2):
            with pytest.raises(DmsError) as raised:
                sandbox().push_repair_order(copy.deepcopy(order), dms_order_uuid=None)
            errors.append(raised.value.errors)

        assert [e["errorCode"] for e in errors[0]] == ["UNKNOWN_ADVISOR", "UNKNOWN_PART", "ORDER_CLOSED"]
        assert (
            errors[0][1]["errorDescription"]
            == "order.jobs[0].parts[1].partNumber unknown-9 is not a part this DMS knows"
        )
        assert errors[0] == errors[1]  # the same order, the same answer, the same errorUIDs
        assert len({e["errorUID"] for e in errors[0]}) == 3


class TestPartsProgression:
    @pytest.mark.parametrize(
        ("minutes", "expected"),
        [
            (-1, "RESERVED"),  # a clock behind the order's: no move
            (0, "RESERVED"),
            (0.99, "RESERVED"),
            (1, "ISSUED"),
            (2, "PACKED"),
            (3, "INTRANSIT"),
            (4.99, "INTRANSIT"),
            (5, "DELIVERED"),
            (9.99, "DELIVERED"),
            (10, "INVOICED"),
            (10_000, "INVOICED"),
        ],
    )
    def test_a_reserved_line_moves_on_as_minutes_pass(self, minutes, expected):
        assert line_status_at("RESERVED", minutes) == expected

    def test_the_table_is_seed_002s_chain_in_order(self):
        assert [status for status, _ in PROGRESSION] == [
            "RESERVED",
            "ISSUED",
            "PACKED",
            "INTRANSIT",
            "DELIVERED",
            "INVOICED",
        ]
        assert [after for _, after in PROGRESSION] == sorted(after for _, after in PROGRESSION)

    @pytest.mark.parametrize("status", ["BACKORDER", "OPEN", "CANCELLED"])
    def test_back_ordered_draft_and_cancelled_lines_stay(self, status):
        assert line_status_at(status, 60) == status

    def test_it_never_moves_a_line_backwards_and_a_line_reserved_late_catches_up(self):
        assert line_status_at("DELIVERED", 1) == "DELIVERED"  # staff moved it ahead of the clock
        assert line_status_at("RESERVED", 30) == "INVOICED"  # back-ordered until staff reserved it

    def test_submit_numbers_the_order_and_takes_it_now_only_in_synchronous_mode(self):
        parts_order = SimpleNamespace(uuid=ORDER_UUID)

        synchronous = sandbox(DmsMode.SYNC).submit_parts_order(parts_order)
        queued = sandbox(DmsMode.ASYNC).submit_parts_order(parts_order)

        assert (synchronous.accepted, queued.accepted) == (True, False)
        assert synchronous.dms_order_number == queued.dms_order_number == sandbox_parts_order_id(ORDER_UUID)
        assert synchronous.dms_order_number.isdigit() and len(synchronous.dms_order_number) == 9
        assert synchronous.line_statuses == {}  # the lines as OrMa reserved them

    @pytest.mark.django_db
    def test_a_poll_moves_a_stored_order_along_with_the_clock(self, api, department):
        department.dealer.dms_mode = DmsMode.ASYNC
        department.dealer.save()
        in_stock = StockFactory(department=department, part=PartFactory(dealer=department.dealer), on_hand=5)
        none_left = StockFactory(department=department, part=PartFactory(dealer=department.dealer), on_hand=0)
        body = {
            "customerId": str(CustomerFactory(dealer=department.dealer).uuid),
            "orderType": "STK",
            "parts": [{"part": {"partId": stock.part.part_id}, "quantity": 1} for stock in (in_stock, none_left)],
        }
        response = api.post(f"{base_url(department)}/parts-orders", body, format="json")
        parts_order = PartsOrder.objects.get(number=response.json()["partsOrderId"])
        reserved, back_ordered = (str(line.uuid) for line in PartsOrderLine.objects.filter(parts_order=parts_order))

        statuses = []
        for minutes in (0, 3, 10):
            now = parts_order.created_at + dt.timedelta(minutes=minutes)
            receipt = sandbox().poll_parts_order(parts_order, now=now)
            statuses.append(
                (receipt.line_statuses[reserved], receipt.line_statuses[back_ordered], receipt.order_status)
            )

        assert statuses == [
            ("RESERVED", "BACKORDER", "INPROGRESS"),
            ("INTRANSIT", "BACKORDER", "SHIPPED"),
            ("INVOICED", "BACKORDER", "SHIPPED"),
        ]
        assert receipt.accepted and receipt.dms_order_number == sandbox_parts_order_id(parts_order.uuid)
