"""Vehicles through the API (``vehicle``, ``vehicle/{vehicleUUID}``): create, find by VIN, read, replace."""

from __future__ import annotations

import uuid

import pytest

from orders.models import Vehicle

from .factories import AUDI_VIN, HONDA_VIN, VW_VIN, CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def url(department, suffix: str = "") -> str:
    return f"/order/v2/department/{department.uuid}/vehicle{suffix}"


def error_pairs(response) -> list[tuple[str, str]]:
    return [(error["errorCode"], error["errorDescription"]) for error in response.json()["errors"]]


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


def test_it_creates_a_vehicle_with_the_brand_its_vin_names(api, department, customer):
    body = {
        "vehicle": {
            "vin": VW_VIN.lower(),
            "customerUUID": str(customer.uuid),
            "model": "Golf",
            "modelYear": 2020,
            "licensePlate": "B-X 1",
            "mileage": 0,
        }
    }

    created = api.put(url(department), body, format="json")

    assert created.status_code == 201, created.json()
    vehicle_uuid = created.json()["vehicleUUID"]
    assert api.get(url(department, f"/{vehicle_uuid}")).json()["vehicle"] == {
        "vehicleUUID": vehicle_uuid,
        "vin": VW_VIN,
        "brand": "VW",
        "customerUUID": str(customer.uuid),
        "model": "Golf",
        "modelYear": 2020,
        "licensePlate": "B-X 1",
        "mileage": 0,
    }


def test_a_vin_the_dealer_knows_answers_409_naming_the_vehicle(api, department):
    known = VehicleFactory(dealer=department.dealer, vin=VW_VIN)

    response = api.post(url(department), {"vehicle": {"vin": VW_VIN}}, format="json")

    assert response.status_code == 409
    assert error_pairs(response) == [("DUPLICATE_VEHICLE", f"A vehicle with this VIN exists: {known.uuid}")]
    assert response.json()["vehicleUUID"] is None


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        (AUDI_VIN, "vehicle.vin is a VIN of brand AUDI, which this dealer does not service"),
        (HONDA_VIN, "vehicle.vin is a VIN of Honda, a brand OrMa does not serve"),
        ("short", "vehicle.vin is not a valid VIN: VIN number requires 17 chars (5 given)"),
    ],
)
def test_a_vin_of_a_brand_the_dealer_does_not_service_is_invalid(api, department, vin, message):
    department.dealer.brands = ["VW"]
    department.dealer.save()

    response = api.put(url(department), {"vehicle": {"vin": vin}}, format="json")

    assert response.status_code == 400
    assert error_pairs(response) == [("FIELD_INVALID", message)]
    assert Vehicle.objects.count() == 0


def test_an_unknown_customer_is_named_with_the_other_problems(api, department):
    missing = str(uuid.uuid4())

    response = api.put(
        url(department), {"vehicle": {"vin": VW_VIN, "customerUUID": missing, "modelYear": 1899}}, format="json"
    )

    assert error_pairs(response) == [
        ("FIELD_INVALID", "vehicle.modelYear must be a year between 1900 and 2100"),
        ("UNKNOWN_CUSTOMER", f"vehicle.customerUUID {missing} is not a customer of this dealer"),
    ]


@pytest.mark.parametrize("raw", ["null", "[]", "{}", '{"vehicle": []}'])
def test_a_body_without_a_vehicle_object_is_malformed(api, department, raw):
    response = api.generic("PUT", url(department), raw, content_type="application/json")

    assert error_pairs(response) == [("MALFORMED_JSON", 'The body must be a JSON object with a "vehicle" object.')]


def test_an_update_replaces_the_vehicle_and_refuses_another_vehicles_vin(api, department):
    vehicle = VehicleFactory(dealer=department.dealer)
    other = VehicleFactory(dealer=department.dealer)

    replaced = api.put(url(department, f"/{vehicle.uuid}"), {"vehicle": {"vin": vehicle.vin}}, format="json")
    taken = api.put(url(department, f"/{vehicle.uuid}"), {"vehicle": {"vin": other.vin}}, format="json")

    assert replaced.status_code == 200
    assert api.get(url(department, f"/{vehicle.uuid}")).json()["vehicle"] == {
        "vehicleUUID": str(vehicle.uuid),
        "vin": vehicle.vin,
        "brand": "VW",
    }
    assert taken.status_code == 409
    assert error_pairs(taken) == [("DUPLICATE_VEHICLE", f"A vehicle with this VIN exists: {other.uuid}")]


class TestFindByVin:
    @pytest.mark.parametrize("vin", [VW_VIN, f"  {VW_VIN.lower()} ", VW_VIN + "XYZ"])
    def test_it_finds_the_dealers_vehicle_in_any_spelling(self, api, department, vin):
        vehicle = VehicleFactory(dealer=department.dealer, vin=VW_VIN)
        VehicleFactory(vin=VW_VIN)  # another dealer's

        found = api.get(url(department), {"vin": vin}).json()["results"]

        assert [v["vehicleUUID"] for v in found] == [str(vehicle.uuid)]

    def test_an_unknown_vin_finds_nothing(self, api, department):
        assert api.get(url(department), {"vin": "nothing"}).json()["results"] == []

    @pytest.mark.parametrize("query", [{}, {"vin": ""}, {"vin": "   "}])
    def test_a_vin_is_required(self, api, department, query):
        response = api.get(url(department), query)

        assert response.status_code == 400
        assert error_pairs(response) == [("FIELD_REQUIRED", "vin is required")]
