"""Field rules, reference checks, warnings and body-level errors of repair-order requests (DESIGN §4).

Every rule is exercised through the API (``PUT order``) with a value just inside and just outside its
boundary; a refusal must be a 400 in seed 001's envelope whose one error has the rule's code and names
the field by its full path in the request (``order.jobs[0].parts[0].partNumber``).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import pytest

from orders.models import Job, PartLine, RepairOrder, Vehicle
from tenancy.tests.factories import DealerFactory

from .factories import (
    AUDI_VIN,
    HONDA_VIN,
    SKODA_VIN,
    CustomerFactory,
    VehicleFactory,
    priced_package,
    row_counts,
    sample_body,
)

pytestmark = pytest.mark.django_db

ENVELOPE_KEYS = {"errors", "warnings", "orderUUID", "statusCode"}
ABSENT = object()  # set_path(..., ABSENT) removes the field
MONEY_FORMAT = re.compile(r"\d{1,10}\.\d{2}")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


# --- helpers ---------------------------------------------------------------------------------------


def orders_url(department: Any) -> str:
    return f"/order/v2/department/{department.uuid}/order"


def put_order(api: Any, department: Any, body: Any) -> Any:
    """PUT a body; dicts are sent as ASCII JSON, so lone surrogates travel as ``\\ud800`` escapes."""
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return api.generic("PUT", orders_url(department), raw, content_type="application/json")


def get_order(api: Any, department: Any, order_uuid: str) -> dict[str, Any]:
    response = api.get(f"{orders_url(department)}/{order_uuid}")
    assert response.status_code == 200, response.content
    return response.json()["order"]


def steps(path: str) -> list[str | int]:
    """``order.jobs[1].parts[0].partNumber`` -> ``["order", "jobs", 1, "parts", 0, "partNumber"]``."""
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def set_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = steps(path)
    node: Any = body
    for step in parents:
        if isinstance(step, str) and step not in node:
            node[step] = {}
        node = node[step]
    if value is ABSENT:
        node.pop(last, None)
    else:
        node[last] = value
    return body


def assert_envelope(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["statusCode"] == status
    return body


def assert_one_error(response: Any, code: str, path: str, status: int = 400) -> dict[str, Any]:
    """One error only, with this code, whose description names the field by its full path."""
    body = assert_envelope(response, status)
    assert [error["errorCode"] for error in body["errors"]] == [code], body["errors"]
    error = body["errors"][0]
    assert error["errorDescription"].startswith(f"{path} "), error["errorDescription"]
    assert error["errorTitle"]
    assert uuid.UUID(error["errorUID"])
    assert body["orderUUID"] is None
    return error


def warning_codes(body: dict[str, Any]) -> list[int]:
    return [warning["warningCode"] for warning in body["warnings"]]


def warning_text(body: dict[str, Any], code: int) -> str:
    texts = [warning["warningDescription"] for warning in body["warnings"] if warning["warningCode"] == code]
    assert len(texts) == 1, body["warnings"]
    return texts[0]


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


@pytest.fixture
def vehicle(department, customer):
    return VehicleFactory(dealer=department.dealer, customer=customer)


@pytest.fixture
def body(customer, vehicle) -> dict[str, Any]:
    """Seed 001's sample, valid for ``department`` (a fresh copy per test)."""
    return sample_body(customer, vehicle)


@pytest.fixture
def package(department):
    return priced_package(department.dealer, code="INSPECTION-30K")


def test_it_accepts_the_seed_sample_as_it_is(api, department, body):
    created = assert_envelope(put_order(api, department, body), 201)

    assert created["errors"] == []
    assert created["warnings"] == []
    assert uuid.UUID(created["orderUUID"])
    assert RepairOrder.objects.filter(uuid=created["orderUUID"], department=department).exists()


# --- 1. one rule per value kind, at its boundary --------------------------------------------------

CODE_50 = "C" * 50
NAME_200 = "N" * 200
TEXT_4000 = "T" * 4000

ACCEPTED = [
    # money: strings of up to 10 digits and 2 decimals; "" is an absent amount
    ("order.header.laborCost", "12.56"),
    ("order.header.laborCost", "12.5"),
    ("order.header.laborCost", "12"),
    ("order.header.laborCost", "0"),
    ("order.header.laborCost", "1234567890"),
    ("order.header.laborCost", "9999999999.99"),
    ("order.header.laborCost", ""),
    ("order.jobs[0].laborSale", "1234567890.12"),
    ("order.jobs[0].parts[0].cost", "0.01"),
    ("order.jobs[0].gog[0].saleTotal", "54"),
    ("order.jobs[0].techHours[0].laborSale", "120.5"),
    ("order.mls[0].salePrice", "12.56"),
    # hours: up to 6 digits and 2 decimals
    ("order.header.soldHours", "999999.99"),
    ("order.header.actualHours", "0.25"),
    ("order.jobs[0].soldHours", "1"),
    ("order.jobs[0].techHours[0].otherHours", "0.5"),
    # quantities: up to 8 digits and 2 decimals
    ("order.jobs[0].parts[0].quantitySold", "99999999.99"),
    ("order.jobs[0].parts[0].quantityOrdered", "2"),
    ("order.jobs[0].gog[0].quantity", "4.5"),
    # dates: real calendar dates in yyyy-MM-dd
    ("order.header.createDate", "2024-02-29"),
    ("order.header.createDate", "2023-12-31"),
    ("order.header.promisedDate", "2024-02-29"),
    ("order.header.closeDate", "2000-02-29"),
    ("order.jobs[0].comments[0].updateDate", "2024-02-29"),
    ("order.mls[0].poCreateDate", "2024-02-29"),
    ("order.warranty.warrantyStartDate", "2024-02-29"),
    ("order.warranty.extendedWarrantyUntil", "2027-02-28"),
    # times: HH:mm:ss
    ("order.header.createTime", "23:59:59"),
    ("order.header.createTime", "00:00:00"),
    ("order.header.promisedTime", "23:59:59"),
    ("order.header.closeTime", "00:00:00"),
    ("order.jobs[0].comments[0].updateTime", "23:59:59"),
    # voidDate: yyyy-MM-dd HH:mm:ss
    ("order.header.voidDate", "2024-02-29 23:59:59"),
    ("order.header.voidDate", "2024-03-01 00:00:00"),
    # Y/N flags
    ("order.header.waiter", "Y"),
    ("order.header.waiter", "N"),
    ("order.header.rental", "N"),
    # the status enum and the type
    ("order.header.status", "OPENED"),
    ("order.header.status", "PRE-INVOICED"),
    ("order.header.status", "CLOSED"),
    ("order.type", "RO"),
    # orderNumber: up to 50 characters of [a-zA-Z0-9-#_\s]
    ("order.header.orderNumber", "R" * 50),
    ("order.header.orderNumber", "RO-12 #_a"),
    ("order.header.orderNumber", "7"),
    # mileage: whole numbers
    ("order.header.mileageIn", "0"),
    ("order.header.mileageOut", "999999999"),
    # lengths: codes 50, names 200, texts 4,000, exactly at the limit
    ("order.header.serviceAccount", CODE_50),
    ("order.header.advisorNumber", CODE_50),
    ("order.jobs[0].jobNumberString", CODE_50),
    ("order.jobs[0].laborOpCode", CODE_50),
    ("order.jobs[0].parts[0].partNumber", CODE_50),
    ("order.mls[0].opCode", CODE_50),
    ("order.header.advisorName", NAME_200),
    ("order.mls[0].saleCompany", NAME_200),
    ("order.jobs[0].comments[0].lastUpdatedBy", NAME_200),
    ("order.customerContact.name", NAME_200),
    ("order.header.description", TEXT_4000),
    ("order.jobs[0].laborOpCodeDesc", TEXT_4000),
    ("order.jobs[0].parts[0].description", TEXT_4000),
    ("order.jobs[0].comments[0].comment", TEXT_4000),
    ("order.jobs[0].ccc.complaint", TEXT_4000),
    ("order.jobs[0].ccc.cause", TEXT_4000),
    ("order.jobs[0].ccc.correction", TEXT_4000),
    # optional text may be empty, and non-ASCII text is text
    ("order.header.description", ""),
    ("order.header.advisorName", "Jürgen Ölmüller 😀"),
    # references and contact (WorkshopOrder 2.x)
    ("order.references", [{"type": "APPOINTMENT", "value": "APT-1"}]),
    ("order.references", [{"type": "BOOKING", "value": CODE_50}]),
    ("order.references", [{"type": "CLAIM", "value": "CL-1"}, {"type": "PARTNER_ORDER_ID", "value": "x"}]),
    ("order.customerContact.email", "anna@example.com"),
]


@pytest.mark.parametrize(("path", "value"), ACCEPTED)
def test_it_accepts_a_value_at_the_boundary(api, department, body, path, value):
    set_path(body, path, value)

    created = assert_envelope(put_order(api, department, body), 201)

    assert created["errors"] == []


REFUSED = [
    # money
    ("order.header.laborCost", "12.567", "FIELD_INVALID"),
    ("order.header.laborCost", "-1", "FIELD_INVALID"),
    ("order.header.laborCost", "1e3", "FIELD_INVALID"),
    ("order.header.laborCost", 12.5, "FIELD_INVALID"),
    ("order.header.laborCost", 12, "FIELD_INVALID"),
    ("order.header.laborCost", "12345678901", "FIELD_INVALID"),
    ("order.header.laborCost", "12,50", "FIELD_INVALID"),
    ("order.header.laborCost", ".5", "FIELD_INVALID"),
    ("order.header.laborCost", "12.", "FIELD_INVALID"),
    ("order.header.laborCost", " 12.50", "FIELD_INVALID"),
    ("order.header.laborCost", "12.50\n", "FIELD_INVALID"),
    ("order.header.laborCost", "١٢.٥٠", "FIELD_INVALID"),  # Arabic-Indic digits are not "numerics"
    ("order.header.laborCost", "NaN", "FIELD_INVALID"),
    ("order.header.laborCost", True, "FIELD_INVALID"),
    ("order.header.laborCost", ["12.50"], "FIELD_INVALID"),
    ("order.jobs[0].laborSale", "1.001", "FIELD_INVALID"),
    ("order.jobs[0].parts[0].cost", "-0.01", "FIELD_INVALID"),
    ("order.jobs[0].gog[0].saleTotal", "12345678901.00", "FIELD_INVALID"),
    ("order.jobs[0].techHours[0].laborCost", 60, "FIELD_INVALID"),
    ("order.mls[0].costPrice", "1e3", "FIELD_INVALID"),
    # hours
    ("order.header.soldHours", "1234567", "FIELD_INVALID"),
    ("order.header.soldHours", "1.505", "FIELD_INVALID"),
    ("order.header.actualHours", "-1", "FIELD_INVALID"),
    ("order.jobs[0].soldHours", 1.5, "FIELD_INVALID"),
    ("order.jobs[0].techHours[0].otherHours", "0.255", "FIELD_INVALID"),
    # quantities
    ("order.jobs[0].parts[0].quantitySold", "123456789", "FIELD_INVALID"),
    ("order.jobs[0].parts[0].quantityOrdered", "1.234", "FIELD_INVALID"),
    ("order.jobs[0].parts[0].quantityOrdered", "-1", "FIELD_INVALID"),
    ("order.jobs[0].gog[0].quantity", 2, "FIELD_INVALID"),
    # dates
    ("order.header.createDate", "2023-02-29", "FIELD_INVALID"),
    ("order.header.createDate", "2024-02-30", "FIELD_INVALID"),
    ("order.header.createDate", "2024-13-01", "FIELD_INVALID"),
    ("order.header.createDate", "2024-2-29", "FIELD_INVALID"),
    ("order.header.createDate", "29.02.2024", "FIELD_INVALID"),
    ("order.header.createDate", "20240229", "FIELD_INVALID"),
    ("order.header.createDate", "2024-02-29T08:30:00", "FIELD_INVALID"),
    ("order.header.createDate", "2024-02-29\n", "FIELD_INVALID"),
    ("order.header.createDate", "0000-01-01", "FIELD_INVALID"),
    ("order.header.createDate", 20240229, "FIELD_INVALID"),
    ("order.header.promisedDate", "2023-02-29", "FIELD_INVALID"),
    ("order.header.closeDate", "2024-04-31", "FIELD_INVALID"),
    ("order.jobs[0].comments[0].updateDate", "2024-02-30", "FIELD_INVALID"),
    ("order.mls[0].poCreateDate", "01/02/2024", "FIELD_INVALID"),
    ("order.warranty.warrantyStartDate", "2023-02-29", "FIELD_INVALID"),
    # times
    ("order.header.createTime", "24:00:00", "FIELD_INVALID"),
    ("order.header.createTime", "23:60:00", "FIELD_INVALID"),
    ("order.header.createTime", "23:59:60", "FIELD_INVALID"),
    ("order.header.createTime", "8:30:00", "FIELD_INVALID"),
    ("order.header.createTime", "08:30", "FIELD_INVALID"),
    ("order.header.createTime", "08:30:00.000", "FIELD_INVALID"),
    ("order.header.createTime", "08:30:00Z", "FIELD_INVALID"),
    ("order.header.promisedTime", "24:00:00", "FIELD_INVALID"),
    ("order.header.closeTime", "12:00 PM", "FIELD_INVALID"),
    ("order.jobs[0].comments[0].updateTime", "24:00:00", "FIELD_INVALID"),
    # voidDate
    ("order.header.voidDate", "2024-03-01T12:00:00", "FIELD_INVALID"),
    ("order.header.voidDate", "2024-03-01", "FIELD_INVALID"),
    ("order.header.voidDate", "2024-02-30 12:00:00", "FIELD_INVALID"),
    ("order.header.voidDate", "2024-03-01 24:00:00", "FIELD_INVALID"),
    ("order.header.voidDate", "2024-03-01 12:00", "FIELD_INVALID"),
    ("order.header.voidDate", "2024-03-01 12:00:00+00:00", "FIELD_INVALID"),
    # Y/N
    ("order.header.waiter", "y", "FIELD_INVALID"),
    ("order.header.waiter", "Yes", "FIELD_INVALID"),
    ("order.header.waiter", True, "FIELD_INVALID"),
    ("order.header.rental", "X", "FIELD_INVALID"),
    # status enum
    ("order.header.status", "OPEN", "FIELD_INVALID"),
    ("order.header.status", "opened", "FIELD_INVALID"),
    ("order.header.status", ["OPENED"], "FIELD_INVALID"),
    ("order.header.status", ABSENT, "FIELD_REQUIRED"),
    ("order.header.status", "", "FIELD_REQUIRED"),
    ("order.header.status", None, "FIELD_REQUIRED"),
    # type
    ("order.type", "WO", "FIELD_INVALID"),
    ("order.type", "ro", "FIELD_INVALID"),
    ("order.type", ABSENT, "FIELD_REQUIRED"),
    ("order.type", "", "FIELD_REQUIRED"),
    # orderNumber
    ("order.header.orderNumber", "R" * 51, "FIELD_TOO_LONG"),
    ("order.header.orderNumber", ABSENT, "FIELD_REQUIRED"),
    ("order.header.orderNumber", "", "FIELD_REQUIRED"),
    ("order.header.orderNumber", "   ", "FIELD_REQUIRED"),
    ("order.header.orderNumber", None, "FIELD_REQUIRED"),
    ("order.header.orderNumber", "RO/1234", "FIELD_INVALID"),
    ("order.header.orderNumber", "RO.1234", "FIELD_INVALID"),
    ("order.header.orderNumber", "RÖ-1234", "FIELD_INVALID"),
    ("order.header.orderNumber", "RO-1234;DROP", "FIELD_INVALID"),
    ("order.header.orderNumber", 1234, "FIELD_INVALID"),
    # header dates and times are required
    ("order.header.createDate", ABSENT, "FIELD_REQUIRED"),
    ("order.header.createDate", "", "FIELD_REQUIRED"),
    ("order.header.createTime", ABSENT, "FIELD_REQUIRED"),
    # mileage
    ("order.header.mileageIn", "-1", "FIELD_INVALID"),
    ("order.header.mileageIn", "1.5", "FIELD_INVALID"),
    ("order.header.mileageIn", "1234567890", "FIELD_INVALID"),
    ("order.header.mileageIn", "١٢", "FIELD_INVALID"),
    # per job and per part line
    ("order.jobs[0].jobNumberString", ABSENT, "FIELD_REQUIRED"),
    ("order.jobs[0].jobNumberString", "", "FIELD_REQUIRED"),
    ("order.jobs[0].laborOpCode", ABSENT, "FIELD_REQUIRED"),
    ("order.jobs[0].laborOpCode", None, "FIELD_REQUIRED"),
    ("order.jobs[0].parts[0].partNumber", ABSENT, "FIELD_REQUIRED"),
    ("order.jobs[0].parts[0].partNumber", "", "FIELD_REQUIRED"),
    ("order.jobs[0].parts[0].partNumber", 6115562, "FIELD_INVALID"),
    # lengths: one over the limit
    ("order.header.serviceAccount", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.header.advisorNumber", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.header.assignedUserUuid", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.jobs[0].jobNumberString", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.jobs[0].laborOpCode", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.jobs[0].parts[0].partNumber", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.jobs[0].ccc.complaintCode", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.mls[0].opCode", CODE_50 + "C", "FIELD_TOO_LONG"),
    ("order.header.advisorName", NAME_200 + "N", "FIELD_TOO_LONG"),
    ("order.mls[0].saleCompany", NAME_200 + "N", "FIELD_TOO_LONG"),
    ("order.jobs[0].comments[0].lastUpdatedBy", NAME_200 + "N", "FIELD_TOO_LONG"),
    ("order.customerContact.name", NAME_200 + "N", "FIELD_TOO_LONG"),
    ("order.header.description", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    ("order.jobs[0].laborOpCodeDesc", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    ("order.jobs[0].parts[0].description", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    ("order.jobs[0].comments[0].comment", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    ("order.jobs[0].ccc.complaint", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    ("order.jobs[0].ccc.cause", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    ("order.jobs[0].ccc.correction", TEXT_4000 + "T", "FIELD_TOO_LONG"),
    # text that cannot be stored
    ("order.header.description", "oil\x00change", "FIELD_INVALID"),
    ("order.header.advisorName", "Anna \ud800", "FIELD_INVALID"),
    ("order.header.advisorName", 42, "FIELD_INVALID"),
    # the customer reference
    ("order.customer.uuid", ABSENT, "FIELD_REQUIRED"),
    ("order.customer.uuid", "", "FIELD_REQUIRED"),
    ("order.customer.uuid", "not-a-uuid", "FIELD_INVALID"),
    ("order.customer", ABSENT, "FIELD_REQUIRED"),
    ("order.customer", "c41f4c77-aa94-41c5-81d2-5179d498ec0c", "FIELD_INVALID"),
    # the vehicle reference
    ("order.vehicle.uuid", "12345", "FIELD_INVALID"),
    ("order.vehicle", [], "FIELD_INVALID"),
    ("order.vehicle.vin", 12345678901234567, "FIELD_INVALID"),
    ("order.vehicle.vin", ["WVWZZZ1JZXW000001"], "FIELD_INVALID"),
    # nested objects and lists of the wrong JSON type
    ("order.header", ABSENT, "FIELD_REQUIRED"),
    ("order.header", [], "FIELD_INVALID"),
    ("order.jobs", {}, "FIELD_INVALID"),
    ("order.jobs[0]", "job", "FIELD_INVALID"),
    ("order.jobs[0].parts", {"partNumber": "X"}, "FIELD_INVALID"),
    ("order.jobs[0].parts[0]", ["06L115562B"], "FIELD_INVALID"),
    ("order.jobs[0].ccc", "complaint", "FIELD_INVALID"),
    # references (WorkshopOrder 2.x)
    ("order.references", [{"type": "OTHER", "value": "x"}], "FIELD_INVALID"),
    ("order.references", [{"type": "appointment", "value": "x"}], "FIELD_INVALID"),
    ("order.references", [{"value": "x"}], "FIELD_REQUIRED"),
    ("order.references", [{"type": "CLAIM"}], "FIELD_REQUIRED"),
    ("order.references", [{"type": "CLAIM", "value": CODE_50 + "C"}], "FIELD_TOO_LONG"),
    ("order.customerContact.email", "anna@example", "FIELD_INVALID"),
    ("order.customerContact.email", "anna@example.com\n", "FIELD_INVALID"),
]


def _error_path(path: str, value: Any) -> str:
    """The path an error names: a list value's first item or field for list-valued cases."""
    if path == "order.references":
        item = value[0]
        if "type" not in item or item.get("type") not in ("APPOINTMENT", "BOOKING", "CLAIM", "PARTNER_ORDER_ID"):
            return "order.references[0].type"
        return "order.references[0].value"
    return path


@pytest.mark.parametrize(("path", "value", "code"), REFUSED)
def test_it_refuses_a_value_beyond_the_boundary(api, department, body, path, value, code):
    set_path(body, path, value)
    before = row_counts()

    assert_one_error(put_order(api, department, body), code, _error_path(path, value))
    assert row_counts() == before


def test_it_names_a_job_and_a_part_by_their_index(api, department, body):
    job = copy.deepcopy(body["order"]["jobs"][0])
    job["parts"].append({"partNumber": "N10", "cost": "1.234"})
    body["order"]["jobs"].append(job)

    error = assert_one_error(put_order(api, department, body), "FIELD_INVALID", "order.jobs[1].parts[1].cost")

    assert "1.234" in error["errorDescription"]


def test_it_answers_money_with_exactly_two_decimals(api, department, body):
    header = body["order"]["header"]
    header.update(laborSaleCustomer="12.5", laborSaleInternal="7", laborSaleWarranty="1234567890")
    header.update(customerPayStateTax="0.1", partsCostInternal="0", warrantyPayAmount="9999999999.99")
    body["order"]["jobs"][0]["parts"][0].update(salePrice="45.9", quantitySold="3", quantityOrdered="2.5")
    body["order"]["jobs"][0]["techHours"][0]["otherHours"] = "2"

    created = assert_envelope(put_order(api, department, body), 201)
    order = get_order(api, department, created["orderUUID"])

    assert order["header"]["laborSaleCustomer"] == "12.50"
    assert order["header"]["laborSaleInternal"] == "7.00"
    assert order["header"]["laborSaleWarranty"] == "1234567890.00"
    assert order["header"]["customerPayStateTax"] == "0.10"
    assert order["header"]["partsCostInternal"] == "0.00"
    assert order["header"]["warrantyPayAmount"] == "9999999999.99"
    assert order["header"]["soldHours"] == "1.50"
    part = order["jobs"][0]["parts"][0]
    assert (part["salePrice"], part["quantitySold"], part["quantityOrdered"]) == ("45.90", "3.00", "2.50")
    assert order["jobs"][0]["techHours"][0]["otherHours"] == "2.00"
    assert order["jobs"][0]["gog"][0]["quantity"] == "4.50"
    assert order["mls"][0]["salePrice"] == "12.56"


def test_it_answers_every_money_field_of_the_sample_in_the_money_format(api, department, body):
    created = assert_envelope(put_order(api, department, body), 201)
    order = get_order(api, department, created["orderUUID"])

    money_fields = [name for name in body["order"]["header"] if "Sale" in name or "Cost" in name or "Pay" in name]
    assert len(money_fields) == 29
    for name in money_fields:
        assert MONEY_FORMAT.fullmatch(order["header"][name]), (name, order["header"][name])


def test_it_treats_an_empty_amount_as_an_absent_one(api, department, body):
    body["order"]["header"]["customerPayStateTax"] = ""
    body["order"]["jobs"][0]["parts"][0]["cost"] = ""

    created = assert_envelope(put_order(api, department, body), 201)
    order = get_order(api, department, created["orderUUID"])

    assert "customerPayStateTax" not in order["header"]
    assert "cost" not in order["jobs"][0]["parts"][0]


def test_it_accepts_advisor_number_alone(api, department, body):
    del body["order"]["header"]["assignedUserUuid"]

    assert_envelope(put_order(api, department, body), 201)


def test_it_accepts_assigned_user_uuid_alone(api, department, body):
    del body["order"]["header"]["advisorNumber"]

    assert_envelope(put_order(api, department, body), 201)


@pytest.mark.parametrize("empty", [ABSENT, "", None])
def test_it_requires_advisor_number_or_assigned_user_uuid(api, department, body, empty):
    set_path(body, "order.header.advisorNumber", empty)
    set_path(body, "order.header.assignedUserUuid", empty)

    error = assert_one_error(put_order(api, department, body), "FIELD_REQUIRED", "order.header.advisorNumber")

    assert "order.header.assignedUserUuid" in error["errorDescription"]


def test_it_stores_the_creation_instant_from_create_date_and_time_in_utc(api, department, body):
    set_path(body, "order.header.createDate", "2024-02-29")
    set_path(body, "order.header.createTime", "23:59:59")

    created = assert_envelope(put_order(api, department, body), 201)

    stored = RepairOrder.objects.get(uuid=created["orderUUID"])
    assert stored.created_instant.isoformat() == "2024-02-29T23:59:59+00:00"
    assert get_order(api, department, created["orderUUID"])["header"]["voidDate"] == "2024-03-01 12:00:00"


# --- references: customer, vehicle, package ---------------------------------------------------------


def test_it_refuses_an_unknown_customer(api, department, body):
    body["order"]["customer"]["uuid"] = str(uuid.uuid4())

    error = assert_one_error(put_order(api, department, body), "UNKNOWN_CUSTOMER", "order.customer.uuid")

    assert body["order"]["customer"]["uuid"] in error["errorDescription"]


def test_it_refuses_another_dealers_customer(api, department, body):
    foreign = CustomerFactory(dealer=DealerFactory())
    body["order"]["customer"]["uuid"] = str(foreign.uuid)

    assert_one_error(put_order(api, department, body), "UNKNOWN_CUSTOMER", "order.customer.uuid")


def test_it_accepts_another_customer_of_the_dealer_by_its_uuid_in_any_spelling(api, department, body):
    other_customer = CustomerFactory(dealer=department.dealer)
    body["order"]["customer"]["uuid"] = str(other_customer.uuid).upper()

    assert_envelope(put_order(api, department, body), 201)


def test_it_refuses_an_unknown_vehicle(api, department, body):
    body["order"]["vehicle"]["uuid"] = str(uuid.uuid4())

    assert_one_error(put_order(api, department, body), "UNKNOWN_VEHICLE", "order.vehicle.uuid")


def test_it_refuses_another_dealers_vehicle(api, department, body):
    foreign = VehicleFactory(dealer=DealerFactory())
    body["order"]["vehicle"]["uuid"] = str(foreign.uuid)

    assert_one_error(put_order(api, department, body), "UNKNOWN_VEHICLE", "order.vehicle.uuid")


@pytest.mark.parametrize(
    "vin",
    [
        "WVWZZZ1JZXW00001",  # 16 characters
        "WVWZZZ1JZXW0000001",  # 18 characters
        "WVWZZZ1JZXW00000I",  # I, O and Q never occur in a VIN
        "WVWZZZ1JZXW00000O",
        "WVWZZZ1JZXW00000!",
        "",
    ],
)
def test_it_refuses_a_vin_of_invalid_syntax(api, department, body, vin):
    body["order"]["vehicle"] = {"vin": vin}

    assert_one_error(put_order(api, department, body), "FIELD_INVALID", "order.vehicle.vin")


def test_it_refuses_a_vin_of_a_brand_outside_seed_000(api, department, body):
    body["order"]["vehicle"] = {"vin": HONDA_VIN}

    assert_one_error(put_order(api, department, body), "FIELD_INVALID", "order.vehicle.vin")


def test_it_refuses_a_vin_of_a_brand_the_dealer_does_not_service(api, department, body):
    department.dealer.brands = ["VW", "SKODA"]
    department.dealer.save()
    body["order"]["vehicle"] = {"vin": AUDI_VIN}
    before = row_counts()

    error = assert_one_error(put_order(api, department, body), "FIELD_INVALID", "order.vehicle.vin")

    assert "AUDI" in error["errorDescription"]
    assert row_counts() == before


def test_it_creates_an_unknown_vehicle_from_a_serviced_vin(api, department, body):
    body["order"]["vehicle"] = {"vin": SKODA_VIN.lower()}

    created = assert_envelope(put_order(api, department, body), 201)

    vehicle = Vehicle.objects.get(dealer=department.dealer, vin=SKODA_VIN)
    assert vehicle.brand == "SKODA"
    assert get_order(api, department, created["orderUUID"])["vehicle"] == {"uuid": str(vehicle.uuid), "vin": SKODA_VIN}
    assert 1001 not in warning_codes(created)


def test_it_finds_a_known_vehicle_by_its_vin(api, department, body, vehicle):
    body["order"]["vehicle"] = {"vin": vehicle.vin}
    vehicles = Vehicle.objects.count()

    created = assert_envelope(put_order(api, department, body), 201)

    assert Vehicle.objects.count() == vehicles
    assert RepairOrder.objects.get(uuid=created["orderUUID"]).vehicle == vehicle


def test_it_refuses_a_vin_that_is_not_the_vehicles(api, department, body):
    body["order"]["vehicle"]["vin"] = SKODA_VIN

    assert_one_error(put_order(api, department, body), "FIELD_INVALID", "order.vehicle.vin")


def test_it_expands_a_known_package_at_the_dealers_price(api, department, body, package):
    body["order"]["jobs"][0]["packages"] = [{"packageCode": package.code, "quantity": "2"}]

    created = assert_envelope(put_order(api, department, body), 201)
    job = get_order(api, department, created["orderUUID"])["jobs"][0]

    assert job["packages"][0]["packageCode"] == package.code
    assert job["packages"][0]["unitPrice"] == "199.00"
    assert job["packages"][0]["price"] == "398.00"
    assert job["labour"] == [
        {"laborOpCode": "INSP", "laborOpCodeDesc": "Inspection", "soldHours": "3.00", "packageCode": package.code}
    ]
    assert job["parts"][-1]["packageCode"] == package.code
    assert job["parts"][-1]["quantityOrdered"] == "2.00"


def test_it_refuses_an_unknown_package(api, department, body, package):
    body["order"]["jobs"][0]["packages"] = [{"packageCode": package.code}, {"packageCode": "NO-SUCH-PACKAGE"}]

    error = assert_one_error(
        put_order(api, department, body), "UNKNOWN_PACKAGE", "order.jobs[0].packages[1].packageCode"
    )

    assert "NO-SUCH-PACKAGE" in error["errorDescription"]


def test_it_refuses_a_package_priced_only_for_another_dealer(api, department, body):
    foreign = priced_package(DealerFactory(), code="FOREIGN-ONLY")
    body["order"]["jobs"][0]["packages"] = [{"packageCode": foreign.code}]

    assert_one_error(put_order(api, department, body), "UNKNOWN_PACKAGE", "order.jobs[0].packages[0].packageCode")


@pytest.mark.parametrize(
    ("use", "code", "path"),
    [
        ({}, "FIELD_REQUIRED", "order.jobs[0].packages[0].packageCode"),
        ({"packageCode": "INSPECTION-30K", "quantity": "0"}, "FIELD_INVALID", "order.jobs[0].packages[0].quantity"),
        ({"packageCode": "INSPECTION-30K", "quantity": "-1"}, "FIELD_INVALID", "order.jobs[0].packages[0].quantity"),
        ({"packageCode": "INSPECTION-30K", "quantity": 1}, "FIELD_INVALID", "order.jobs[0].packages[0].quantity"),
    ],
)
def test_it_checks_a_package_use(api, department, body, package, use, code, path):
    body["order"]["jobs"][0]["packages"] = [use]

    assert_one_error(put_order(api, department, body), code, path)


# --- 2. all problems at once -------------------------------------------------------------------------


def test_it_reports_every_problem_of_a_request_at_once(api, department, body):
    order = body["order"]
    order["header"]["orderNumber"] = "R" * 51
    order["header"]["createDate"] = "2024-02-30"
    order["header"]["waiter"] = "yes"
    del order["jobs"][0]["laborOpCode"]
    order["jobs"][0]["soldHours"] = "1.255"
    del order["jobs"][0]["parts"][0]["partNumber"]
    order["jobs"][0]["parts"][0]["cost"] = "-3"
    order["customer"]["uuid"] = str(uuid.uuid4())
    before = row_counts()

    answer = assert_envelope(put_order(api, department, body), 400)

    found = {(error["errorCode"], error["errorDescription"].split(" ")[0]) for error in answer["errors"]}
    assert found == {
        ("FIELD_TOO_LONG", "order.header.orderNumber"),
        ("FIELD_INVALID", "order.header.createDate"),
        ("FIELD_INVALID", "order.header.waiter"),
        ("FIELD_REQUIRED", "order.jobs[0].laborOpCode"),
        ("FIELD_INVALID", "order.jobs[0].soldHours"),
        ("FIELD_REQUIRED", "order.jobs[0].parts[0].partNumber"),
        ("FIELD_INVALID", "order.jobs[0].parts[0].cost"),
        ("UNKNOWN_CUSTOMER", "order.customer.uuid"),
    }
    uids = [error["errorUID"] for error in answer["errors"]]
    assert len(uids) == len(set(uids)) == 8
    assert row_counts() == before


def test_it_reports_problems_of_several_jobs_and_lines(api, department, body):
    job = body["order"]["jobs"][0]
    body["order"]["jobs"] = [copy.deepcopy(job) for _ in range(3)]
    del body["order"]["jobs"][0]["jobNumberString"]
    body["order"]["jobs"][2]["parts"].append({"description": "no number"})
    body["order"]["jobs"][2]["comments"][0]["updateTime"] = "25:00:00"
    body["order"]["mls"][0]["poCreateDate"] = "2023-02-29"

    answer = assert_envelope(put_order(api, department, body), 400)

    paths = sorted(error["errorDescription"].split(" ")[0] for error in answer["errors"])
    assert paths == [
        "order.jobs[0].jobNumberString",
        "order.jobs[2].comments[0].updateTime",
        "order.jobs[2].parts[1].partNumber",
        "order.mls[0].poCreateDate",
    ]


# --- 3. warnings ---------------------------------------------------------------------------------------


def test_it_warns_1001_for_an_order_without_a_vehicle(api, department, body):
    del body["order"]["vehicle"]

    created = assert_envelope(put_order(api, department, body), 201)

    assert warning_codes(created) == [1001]
    assert RepairOrder.objects.get(uuid=created["orderUUID"]).vehicle is None


def test_it_warns_1001_for_an_empty_vehicle_reference(api, department, body):
    body["order"]["vehicle"] = {}

    assert warning_codes(assert_envelope(put_order(api, department, body), 201)) == [1001]


@pytest.mark.parametrize(
    "path",
    [
        "order.jobs[0].laborType",
        "order.jobs[0].parts[0].laborType",
        "order.jobs[0].gog[0].laborType",
        "order.jobs[0].techHours[0].laborType",
        "order.mls[0].laborType",
    ],
)
def test_it_warns_1002_for_a_labor_type_other_than_c_w_i(api, department, body, path):
    set_path(body, path, "X")

    created = assert_envelope(put_order(api, department, body), 201)

    assert warning_codes(created) == [1002]
    assert warning_text(created, 1002).startswith(f"{path} ")


def test_it_warns_1002_once_per_line_and_not_for_c_w_i(api, department, body):
    job = body["order"]["jobs"][0]
    job["laborType"] = "W"
    job["parts"] = [{"partNumber": "A", "laborType": "I"}, {"partNumber": "B", "laborType": "Q"}]
    job["mls"] = [{"laborType": "c", "mlsType": "SUBLET"}]

    created = assert_envelope(put_order(api, department, body), 201)

    assert warning_codes(created) == [1002, 1002]
    warned = [warning["warningDescription"] for warning in created["warnings"]]
    assert warned[0].startswith("order.jobs[0].parts[1].laborType is 'Q'")
    assert warned[1].startswith("order.jobs[0].mls[0].laborType is 'c'")


def test_it_warns_1003_when_given_totals_disagree_with_the_lines(api, department, body):
    body["order"]["header"]["laborSale"] = "100.00"
    body["order"]["header"]["partsSale"] = "45.91"

    created = assert_envelope(put_order(api, department, body), 201)

    assert warning_codes(created) == [1003]
    text = warning_text(created, 1003)
    assert "order.header.laborSale is 100.00" in text and "120.50" in text
    assert "order.header.partsSale is 45.91" in text and "45.90" in text
    assert get_order(api, department, created["orderUUID"])["header"]["laborSale"] == "100.00"


def test_it_gives_no_1003_when_the_totals_agree(api, department, body):
    body["order"]["header"]["laborSale"] = "120.5"  # equal amounts, another spelling

    created = assert_envelope(put_order(api, department, body), 201)

    assert 1003 not in warning_codes(created)


def test_it_computes_missing_totals_from_the_lines(api, department, body):
    header = body["order"]["header"]
    for name in (
        "laborSale",
        "partsSale",
        "miscSale",
        "lubeSale",
        "soldHours",
        "actualHours",
        "partsCost",
        "laborCost",
    ):
        del header[name]
    second = copy.deepcopy(body["order"]["jobs"][0])
    second.update(laborSale="10.00", partsSale="0.10", soldHours="0.5")
    body["order"]["jobs"].append(second)

    created = assert_envelope(put_order(api, department, body), 201)
    answered = get_order(api, department, created["orderUUID"])["header"]

    assert 1003 not in warning_codes(created)
    assert answered["laborSale"] == "130.50"
    assert answered["partsSale"] == "46.00"
    assert answered["miscSale"] == "10.00"
    assert answered["lubeSale"] == "12.56"
    assert answered["soldHours"] == "2.00"
    assert answered["actualHours"] == "2.50"
    assert answered["partsCost"] == "40.00"
    assert answered["laborCost"] == "120.00"
    stored = RepairOrder.objects.get(uuid=created["orderUUID"])
    assert str(stored.labor_sale) == "130.50"


def test_it_computes_parts_sale_from_part_lines_when_the_job_gives_none(api, department, body):
    header = body["order"]["header"]
    del header["partsSale"]
    job = body["order"]["jobs"][0]
    del job["partsSale"]
    job["parts"] = [
        {"partNumber": "A", "saleTotal": "10.00"},
        {"partNumber": "B", "salePrice": "2.50", "quantitySold": "3"},
        {"partNumber": "C", "salePrice": "1.25"},
    ]

    created = assert_envelope(put_order(api, department, body), 201)

    assert get_order(api, department, created["orderUUID"])["header"]["partsSale"] == "18.75"


def test_it_warns_1004_naming_unknown_fields_at_every_level(api, department, body):
    body["extra"] = 1
    body["order"]["foo"] = "bar"
    body["order"]["header"]["orderDate"] = "2024-02-01"
    body["order"]["jobs"][0]["foo"] = {"nested": True}
    body["order"]["jobs"][0]["parts"][0]["bar"] = None
    body["order"]["jobs"][0]["ccc"]["severity"] = 3
    body["order"]["mls"][0]["baz"] = []

    created = assert_envelope(put_order(api, department, body), 201)

    assert warning_codes(created) == [1004]
    text = warning_text(created, 1004)
    for name in (
        "extra",
        "order.foo",
        "order.header.orderDate",
        "order.jobs[0].foo",
        "order.jobs[0].parts[0].bar",
        "order.jobs[0].ccc.severity",
        "order.mls[0].baz",
    ):
        assert name in text
    assert "order.jobs[0].foo.nested" not in text
    order = get_order(api, department, created["orderUUID"])
    assert "foo" not in order and "foo" not in order["jobs"][0]


def test_it_quotes_unknown_field_names_it_cannot_print(api, department, body):
    body["order"]["\ud800x"] = 1
    body["order"]["jobs"][0]["a\x00b"] = 2

    created = assert_envelope(put_order(api, department, body), 201)

    text = warning_text(created, 1004)
    assert "order.\\ud800x" in text
    assert "order.jobs[0].a\\x00b" in text


def test_it_stores_and_replays_an_answer_quoting_a_nul_field_name(api, department, body):
    """The warning is stored for Idempotency-Key replays; PostgreSQL's jsonb refuses a raw NUL (\\u0000)."""
    body["order"]["jobs"][0]["a\x00b"] = 2
    raw = json.dumps(body)
    url = orders_url(department)

    first = api.generic("PUT", url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="nul-name-1")
    replay = api.generic("PUT", url, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="nul-name-1")

    created = assert_envelope(first, 201)
    assert "order.jobs[0].a\\x00b" in warning_text(created, 1004)
    assert replay.status_code == 201
    assert replay.json()["orderUUID"] == created["orderUUID"]
    assert RepairOrder.objects.count() == 1


def test_it_answers_several_warnings_together(api, department, body):
    del body["order"]["vehicle"]
    body["order"]["jobs"][0]["laborType"] = "Z"
    body["order"]["header"]["miscSale"] = "1.00"
    body["order"]["jobs"][0]["foo"] = 1

    created = assert_envelope(put_order(api, department, body), 201)

    assert sorted(warning_codes(created)) == [1001, 1002, 1003, 1004]


# --- 4. body-level errors: MALFORMED_JSON, PAYLOAD_TOO_LARGE ---------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b'{"order": {"type": "RO",}}', id="trailing-comma"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b'{"order": NaN}', id="nan"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"order"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b'{"foo": {}}', id="no-order"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"Order": {"type": "RO"}}', id="order-misspelt"),
        pytest.param(b'{"order": []}', id="order-array"),
        pytest.param(b'{"order": "RO-1234"}', id="order-string"),
        pytest.param(b'{"order": null}', id="order-null"),
        pytest.param(b'{"order": 1}', id="order-number"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep-nesting"),
        pytest.param(b'{"order": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001, id="deep-objects"),
    ],
)
def test_it_answers_malformed_json(api, department, raw):
    before = row_counts()

    answer = assert_envelope(put_order(api, department, raw), 400)

    assert [error["errorCode"] for error in answer["errors"]] == ["MALFORMED_JSON"]
    assert answer["orderUUID"] is None
    assert row_counts() == before


def _padded(body: dict[str, Any], size: int) -> bytes:
    raw = json.dumps(body).encode()
    assert len(raw) < size
    return raw[:-1] + b" " * (size - len(raw)) + raw[-1:]


def test_it_accepts_a_body_of_exactly_one_mebibyte(api, department, body):
    raw = _padded(body, 1024 * 1024)

    assert_envelope(put_order(api, department, raw), 201)


def test_it_refuses_a_body_over_one_mebibyte(api, department, body):
    raw = _padded(body, 1024 * 1024 + 1)

    answer = assert_envelope(put_order(api, department, raw), 413)

    assert [error["errorCode"] for error in answer["errors"]] == ["PAYLOAD_TOO_LARGE"]
    assert RepairOrder.objects.count() == 0


def _jobs(count: int) -> list[dict[str, Any]]:
    return [{"jobNumberString": f"J{index}", "laborOpCode": "OIL"} for index in range(count)]


def test_it_accepts_200_jobs(api, department, body):
    body["order"]["jobs"] = _jobs(200)

    created = assert_envelope(put_order(api, department, body), 201)

    assert Job.objects.filter(repair_order__uuid=created["orderUUID"]).count() == 200


def test_it_refuses_201_jobs(api, department, body):
    body["order"]["jobs"] = _jobs(201)

    answer = assert_envelope(put_order(api, department, body), 413)

    assert [error["errorCode"] for error in answer["errors"]] == ["PAYLOAD_TOO_LARGE"]
    assert "201 jobs" in answer["errors"][0]["errorDescription"]
    assert RepairOrder.objects.count() == Job.objects.count() == 0


def test_it_refuses_201_jobs_even_when_they_are_invalid(api, department, body):
    body["order"]["jobs"] = [None] * 201

    answer = assert_envelope(put_order(api, department, body), 413)

    assert [error["errorCode"] for error in answer["errors"]] == ["PAYLOAD_TOO_LARGE"]


def test_it_accepts_a_job_with_500_lines(api, department, body):
    body["order"]["jobs"][0]["parts"] = [{"partNumber": f"P{index}"} for index in range(500)]
    for name in ("gog", "techHours", "comments"):
        del body["order"]["jobs"][0][name]

    created = assert_envelope(put_order(api, department, body), 201)

    assert PartLine.objects.filter(job__repair_order__uuid=created["orderUUID"]).count() == 500


def test_it_refuses_a_job_with_501_part_lines(api, department, body):
    body["order"]["jobs"].append(copy.deepcopy(body["order"]["jobs"][0]))
    body["order"]["jobs"][1]["parts"] = [{"partNumber": f"P{index}"} for index in range(501)]
    for name in ("gog", "techHours", "comments"):
        del body["order"]["jobs"][1][name]

    answer = assert_envelope(put_order(api, department, body), 413)

    assert [error["errorCode"] for error in answer["errors"]] == ["PAYLOAD_TOO_LARGE"]
    assert answer["errors"][0]["errorDescription"].startswith("order.jobs[1] has 501 lines")
    assert RepairOrder.objects.count() == PartLine.objects.count() == 0


def test_it_counts_every_list_of_a_job_towards_the_500_lines(api, department, body):
    job = body["order"]["jobs"][0]
    job["parts"] = [{"partNumber": f"P{index}"} for index in range(200)]
    job["gog"] = [{"itemType": "OIL"}] * 100
    job["techHours"] = [{"techNo": "T"}] * 100
    job["comments"] = [{"comment": "c"}] * 50
    job["mls"] = [{"mlsType": "MISC"}] * 51

    answer = assert_envelope(put_order(api, department, body), 413)

    assert "501 lines" in answer["errors"][0]["errorDescription"]

    job["mls"] = job["mls"][:50]
    assert_envelope(put_order(api, department, body), 201)
