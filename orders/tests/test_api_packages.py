"""Service packages through the API (``package?vin=``): what fits the vehicle, at this dealer's price."""

from __future__ import annotations

import pytest

from tenancy.tests.factories import DepartmentFactory

from .factories import HONDA_VIN, VehicleFactory, make_package

pytestmark = pytest.mark.django_db


def url(department) -> str:
    return f"/order/v2/department/{department.uuid}/package"


def test_the_package_list_answers_what_fits_the_vin_at_this_dealers_price(api, department):
    make_package(department.dealer, "ANY", "99.00")
    make_package(department.dealer, "AUDI-ONLY", "199.00", brands=["AUDI"])
    make_package(DepartmentFactory().dealer, "OTHER-DEALER")

    response = api.get(f"/order/v2/department/{department.uuid}/package", {"vin": "WVWZZZ1JZXW000001"})

    assert response.status_code == 200
    [package] = response.json()["results"]
    assert package["packageCode"] == "ANY" and package["price"] == "99.00"
    assert package["labour"] == [{"laborOpCode": "OIL", "description": "Oil change", "soldHours": "0.50"}]


def test_it_answers_a_package_whole(api, department):
    make_package(department.dealer, "OIL-SERVICE", "149.00")

    [package] = api.get(url(department), {"vin": "wvwzzz1jzxw000001"}).json()["results"]

    assert package == {
        "packageCode": "OIL-SERVICE",
        "description": "OIL-SERVICE package",
        "price": "149.00",
        "currencyCode": "EUR",
        "labour": [{"laborOpCode": "OIL", "description": "Oil change", "soldHours": "0.50"}],
        "parts": [{"partNumber": "06L115562B", "description": "Oil filter", "quantity": "1.00"}],
    }


def test_a_known_vehicles_brand_decides_over_its_vins(api, department):
    make_package(department.dealer, "CUPRA-ONLY", "9.00", brands=["CUPRA"])
    make_package(department.dealer, "SEAT-ONLY", "9.00", brands=["SEAT"])
    VehicleFactory(dealer=department.dealer, vin="VSSZZZ5FZJR000001", brand="CUPRA")

    found = api.get(url(department), {"vin": "VSSZZZ5FZJR000001"}).json()["results"]

    assert [package["packageCode"] for package in found] == ["CUPRA-ONLY"]


def test_a_vin_of_a_brand_outside_seed_000_gets_only_the_packages_for_every_brand(api, department):
    make_package(department.dealer, "ANY", "99.00")
    make_package(department.dealer, "VW-ONLY", "9.00", brands=["VW"])

    found = api.get(url(department), {"vin": HONDA_VIN}).json()["results"]

    assert [package["packageCode"] for package in found] == ["ANY"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "vin is not a valid VIN: VIN number requires 17 chars (0 given)"),
        ({"vin": "short"}, "vin is not a valid VIN: VIN number requires 17 chars (5 given)"),
    ],
)
def test_a_valid_vin_is_required(api, department, query, message):
    response = api.get(url(department), query)

    assert response.status_code == 400
    assert [(e["errorCode"], e["errorDescription"]) for e in response.json()["errors"]] == [("FIELD_INVALID", message)]
