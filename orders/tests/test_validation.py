"""Technical approval at its home (``orders.validation``), as the admin and the commands call it: the
domain's errors (codes, paths, values), never an HTTP status."""

from __future__ import annotations

import uuid

import pytest

from orders.validation import (
    customer_search_text,
    package_lookup_vin,
    validate_customer,
    validate_repair_order,
    validate_vehicle,
    vehicle_lookup_vin,
)
from orma.errors import DomainError
from tenancy.tests.factories import DealerFactory

from .factories import AUDI_VIN, VW_VIN, CustomerFactory, minimal_body

pytestmark = pytest.mark.django_db


def refused(call, *args, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(DomainError) as error:
        call(*args, **kwargs)
    return [(problem.code, problem.description) for problem in error.value.problems]


# --- customers -------------------------------------------------------------------------------------

NAME_REQUIRED = ("FIELD_REQUIRED", "customer.familyName or customer.companyName is required")


@pytest.mark.parametrize(
    "customer",
    [{"familyName": "Muster"}, {"companyName": "ACME"}, {"familyName": "M", "companyName": ""}, {"familyName": " M"}],
)
def test_a_customer_with_a_family_or_company_name_passes(customer):
    validated = validate_customer({"customer": customer})

    assert validated.data == customer and validated.warnings == []


@pytest.mark.parametrize(
    "customer",
    [{}, {"familyName": ""}, {"familyName": "  "}, {"familyName": " ", "companyName": "\t"}, {"givenName": "A"}],
)
def test_a_customer_without_a_family_or_company_name_is_refused(customer):
    assert refused(validate_customer, {"customer": customer}) == [NAME_REQUIRED]


def test_a_customers_field_problems_come_with_the_name_problem():
    assert refused(validate_customer, {"customer": {"email": "no", "invoiceAddress": {"countryCode": "DEU"}}}) == [
        ("FIELD_INVALID", "customer.email must be an e-mail address"),
        ("FIELD_INVALID", 'customer.invoiceAddress.countryCode must be an ISO 3166-1 alpha-2 code like "DE"'),
        NAME_REQUIRED,
    ]


@pytest.mark.parametrize("body", [None, [], "x", {}, {"customer": None}, {"customer": []}])
def test_a_body_without_a_customer_object_is_malformed(body):
    assert refused(validate_customer, body) == [
        ("MALFORMED_JSON", 'The body must be a JSON object with a "customer" object.')
    ]


def test_unknown_customer_fields_are_a_warning():
    validated = validate_customer({"customer": {"familyName": "X", "nickname": "x"}, "extra": 1})

    assert [(w.code, w.description) for w in validated.warnings] == [
        (1004, "Unknown fields were ignored: extra, customer.nickname")
    ]


# --- vehicles --------------------------------------------------------------------------------------


@pytest.fixture
def dealer():
    return DealerFactory(brands=["VW", "CUPRA"])


def test_a_vehicle_of_a_serviced_brand_passes_with_its_brand_and_customer(dealer):
    customer = CustomerFactory(dealer=dealer)

    validated = validate_vehicle(
        {"vehicle": {"vin": VW_VIN.lower(), "customerUUID": str(customer.uuid).upper()}}, dealer=dealer
    )

    assert (validated.data["vin"], validated.brand, validated.customer) == (VW_VIN, "VW", customer)


def test_a_seat_vin_is_a_cupra_at_a_cupra_dealer(dealer):
    assert validate_vehicle({"vehicle": {"vin": "VSSZZZ5FZJR000001"}}, dealer=dealer).brand == "CUPRA"


def test_a_vehicle_of_a_brand_the_dealer_does_not_service_is_refused(dealer):
    assert refused(validate_vehicle, {"vehicle": {"vin": AUDI_VIN}}, dealer=dealer) == [
        ("FIELD_INVALID", "vehicle.vin is a VIN of brand AUDI, which this dealer does not service")
    ]


def test_a_vehicle_of_another_dealers_customer_is_refused_with_every_other_problem(dealer):
    foreign = CustomerFactory(dealer=DealerFactory())

    assert refused(
        validate_vehicle, {"vehicle": {"vin": AUDI_VIN, "customerUUID": str(foreign.uuid)}}, dealer=dealer
    ) == [
        ("FIELD_INVALID", "vehicle.vin is a VIN of brand AUDI, which this dealer does not service"),
        ("UNKNOWN_CUSTOMER", f"vehicle.customerUUID {foreign.uuid} is not a customer of this dealer"),
    ]


@pytest.mark.parametrize("vehicle", [{}, {"vin": ""}, {"vin": None}])
def test_a_vehicle_needs_a_vin(dealer, vehicle):
    assert refused(validate_vehicle, {"vehicle": vehicle}, dealer=dealer) == [
        ("FIELD_REQUIRED", "vehicle.vin is required")
    ]


# --- repair orders -----------------------------------------------------------------------------------


def test_a_repair_order_problem_is_a_domain_error_with_its_path_and_value(department):
    customer = CustomerFactory(dealer=department.dealer)
    body = minimal_body(customer)
    body["order"]["header"]["waiter"] = "yes"

    with pytest.raises(DomainError) as error:
        validate_repair_order(body, department=department)

    [problem] = error.value.problems
    assert (problem.code, problem.field, problem.value) == ("FIELD_INVALID", "order.header.waiter", "yes")


def test_too_many_jobs_are_a_payload_too_large_error(department):
    body = minimal_body(CustomerFactory(dealer=department.dealer))
    body["order"]["jobs"] = [{}] * 201

    assert refused(validate_repair_order, body, department=department) == [
        ("PAYLOAD_TOO_LARGE", "order.jobs has 201 jobs; at most 200 are accepted")
    ]


def test_an_unknown_customer_is_named(department):
    body = minimal_body(CustomerFactory(dealer=department.dealer))
    missing = str(uuid.uuid4())
    body["order"]["customer"]["uuid"] = missing

    assert refused(validate_repair_order, body, department=department) == [
        ("UNKNOWN_CUSTOMER", f"order.customer.uuid {missing} is not a customer of this dealer")
    ]


# --- query parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "search"),
    [(None, ""), ("", ""), ("  Muster  ", "Muster"), ("a\x00b", "ab"), ("x" * 201, "x" * 200)],
)
def test_a_customer_search_is_trimmed_to_a_names_length(raw, search):
    assert customer_search_text(raw) == search


@pytest.mark.parametrize(("raw", "vin"), [(" wvwzzz1jzxw000001 ", VW_VIN), ("a" * 20, "A" * 17), ("x", "X")])
def test_a_vehicle_lookup_takes_any_case_and_at_most_17_characters(raw, vin):
    assert vehicle_lookup_vin(raw) == vin


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_vehicle_lookup_needs_a_vin(raw):
    assert refused(vehicle_lookup_vin, raw) == [("FIELD_REQUIRED", "vin is required")]


def test_a_package_lookup_needs_a_valid_vin():
    assert package_lookup_vin(VW_VIN.lower()) == VW_VIN
    assert refused(package_lookup_vin, "short") == [
        ("FIELD_INVALID", "vin is not a valid VIN: VIN number requires 17 chars (5 given)")
    ]
