"""Customers through the API (``customer``, ``customer/{customerUUID}``): create, read, replace, search."""

from __future__ import annotations

import uuid

import pytest

from orders.models import Customer

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

FULL = {
    "titleCommon": "Dr",
    "givenName": "Max",
    "familyName": "Muster",
    "email": "max@example.com",
    "phone": "+49 30 1",
    "invoiceAddress": {"streetName": "Hauptstr. 1", "postalCode": "10115", "city": "Berlin", "countryCode": "de"},
}


def url(department, suffix: str = "") -> str:
    return f"/order/v2/department/{department.uuid}/customer{suffix}"


def error_pairs(response) -> list[tuple[str, str]]:
    return [(error["errorCode"], error["errorDescription"]) for error in response.json()["errors"]]


def test_it_creates_a_customer_and_answers_it_as_stored(api, department):
    created = api.put(url(department), {"customer": FULL}, format="json")

    assert created.status_code == 201
    envelope = created.json()
    assert (envelope["errors"], envelope["warnings"], envelope["statusCode"]) == ([], [], 201)
    read = api.get(url(department, f"/{envelope['customerUUID']}"))
    assert read.status_code == 200
    assert read.json()["customer"] == {
        "customerUUID": envelope["customerUUID"],
        **FULL,
        "invoiceAddress": {**FULL["invoiceAddress"], "countryCode": "DE"},
    }
    assert Customer.objects.get(uuid=envelope["customerUUID"]).dealer == department.dealer


def test_post_creates_like_put_and_warns_of_unknown_fields(api, department):
    created = api.post(url(department), {"customer": {"companyName": "ACME", "vat": "x"}, "x": 1}, format="json")

    assert created.status_code == 201
    assert created.json()["warnings"] == [
        {"warningCode": 1004, "warningDescription": "Unknown fields were ignored: x, customer.vat"}
    ]


@pytest.mark.parametrize("customer", [{}, {"familyName": "  "}, {"familyName": "", "companyName": ""}])
def test_a_customer_needs_a_family_or_company_name(api, department, customer):
    response = api.put(url(department), {"customer": customer}, format="json")

    assert response.status_code == 400
    assert error_pairs(response) == [("FIELD_REQUIRED", "customer.familyName or customer.companyName is required")]
    assert response.json()["customerUUID"] is None
    assert Customer.objects.count() == 0


def test_it_answers_every_problem_of_a_customer_at_once(api, department):
    body = {"customer": {"familyName": "X" * 201, "email": "no", "invoiceAddress": {"countryCode": "DEU"}}}

    response = api.put(url(department), body, format="json")

    assert error_pairs(response) == [
        ("FIELD_TOO_LONG", "customer.familyName is 201 characters long; at most 200 allowed"),
        ("FIELD_INVALID", "customer.email must be an e-mail address"),
        ("FIELD_INVALID", 'customer.invoiceAddress.countryCode must be an ISO 3166-1 alpha-2 code like "DE"'),
        # the refused name is no name
        ("FIELD_REQUIRED", "customer.familyName or customer.companyName is required"),
    ]


@pytest.mark.parametrize("raw", ["null", "[]", '"x"', "{}", '{"customer": "x"}', ""])
def test_a_body_without_a_customer_object_is_malformed(api, department, raw):
    response = api.generic("PUT", url(department), raw, content_type="application/json")

    assert response.status_code == 400
    assert error_pairs(response) == [("MALFORMED_JSON", 'The body must be a JSON object with a "customer" object.')]


def test_an_update_replaces_the_customer_whole(api, department):
    customer = CustomerFactory(dealer=department.dealer)

    response = api.put(url(department, f"/{customer.uuid}"), {"customer": {"companyName": "New Co"}}, format="json")

    assert response.status_code == 200 and response.json()["customerUUID"] == str(customer.uuid)
    assert api.get(url(department, f"/{customer.uuid}")).json()["customer"] == {
        "customerUUID": str(customer.uuid),
        "companyName": "New Co",
    }


def test_a_refused_update_changes_nothing(api, department):
    customer = CustomerFactory(dealer=department.dealer, family_name="Kept")

    response = api.put(url(department, f"/{customer.uuid}"), {"customer": {"givenName": "only"}}, format="json")

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.family_name == "Kept"


def test_an_unknown_customer_answers_404_before_its_body_is_read(api, department):
    response = api.put(url(department, f"/{uuid.uuid4()}"), {"customer": {}}, format="json")

    assert response.status_code == 404
    assert response.json()["errors"][0]["errorCode"] == "NOT_FOUND"


class TestSearch:
    @pytest.fixture
    def customers(self, department):
        return [
            CustomerFactory(dealer=department.dealer, family_name=f"Search {n}", email=f"s{n}@x.de") for n in range(4)
        ] + [CustomerFactory(dealer=department.dealer, family_name="Other", email="o@x.de")]

    def test_it_finds_by_part_of_a_name_in_any_case(self, api, department, customers):
        found = api.get(url(department), {"search": "  SEARCH 2  "}).json()

        assert [c["customerUUID"] for c in found["results"]] == [str(customers[2].uuid)]
        assert found["next"] is None

    def test_it_pages_by_id_with_an_opaque_cursor(self, api, department, customers):
        seen, page_url = [], url(department) + "?search=search&limit=3"
        while page_url:
            page = api.get(page_url).json()
            seen += [c["customerUUID"] for c in page["results"]]
            page_url = page["next"]

        assert seen == [str(c.uuid) for c in customers[:4]]

    def test_no_search_answers_every_customer_of_the_dealer(self, api, department, customers):
        CustomerFactory()  # another dealer's

        assert len(api.get(url(department), {"search": ""}).json()["results"]) == 5

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"limit": "0"}, "limit must be a whole number from 1 to 200"),
            ({"cursor": "x"}, "cursor is not one this API issued"),
            ({"cursor": "WyJhIl0"}, "cursor is not one this API issued"),  # ["a"]
            ({"q": "a"}, "unknown query parameter 'q'; expected: search, limit, cursor"),
        ],
    )
    def test_bad_parameters_answer_400(self, api, department, query, message):
        response = api.get(url(department), query)

        assert response.status_code == 400
        assert error_pairs(response) == [("FIELD_INVALID", message)]
