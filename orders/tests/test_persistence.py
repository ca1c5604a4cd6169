"""The one write path: the rows an order is written to render back into exactly its stored document."""

from __future__ import annotations

import copy

import pytest

from orders.models import PackageUse, RepairOrder
from orders.selectors import repair_order_from_rows

from .factories import CustomerFactory, VehicleFactory, make_package, orders_url, sample_body, workshop_order_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


@pytest.fixture
def vehicle(department, customer):
    return VehicleFactory(dealer=department.dealer, customer=customer)


def created(api, department, body) -> RepairOrder:
    response = api.put(orders_url(department), body, format="json")
    assert response.status_code == 201, response.json()
    return RepairOrder.objects.get(uuid=response.json()["orderUUID"])


def test_it_renders_seed_001s_sample_from_its_rows_as_stored(api, department, customer, vehicle):
    repair_order = created(api, department, sample_body(customer, vehicle))

    assert repair_order_from_rows(repair_order) == repair_order.document


def test_it_renders_a_workshop_order_2x_from_its_rows_as_stored(api, department, customer, vehicle):
    package = make_package(department.dealer, "OIL-SERVICE", "149.00")

    repair_order = created(api, department, workshop_order_body(customer, vehicle, package))

    document = repair_order.document
    assert document["references"] and document["customerContact"] and document["warranty"]
    assert document["jobs"][0]["packages"] and document["jobs"][0]["labour"] and document["jobs"][0]["mls"]
    assert [line["mlsType"] for line in document["mls"]] == ["LUBE", "SUBLET"]
    assert repair_order_from_rows(repair_order) == document


def test_it_keeps_the_package_description_on_its_row(api, department, customer, vehicle):
    """Was missing: the document named the package, its row did not (found by rendering from the rows)."""
    package = make_package(department.dealer, "OIL-SERVICE", "149.00")

    created(api, department, workshop_order_body(customer, vehicle, package))

    assert PackageUse.objects.get().description == "OIL-SERVICE package"


def test_an_update_rewrites_every_form(api, department, customer, vehicle):
    package = make_package(department.dealer, "OIL-SERVICE", "149.00")
    repair_order = created(api, department, sample_body(customer, vehicle))
    body = workshop_order_body(customer, vehicle, package)
    body["order"]["header"]["orderNumber"] = repair_order.order_number
    del body["order"]["warranty"]
    replaced = copy.deepcopy(body)

    response = api.put(f"{orders_url(department)}/{repair_order.uuid}", replaced, format="json")

    assert response.status_code == 200, response.json()
    repair_order.refresh_from_db()
    assert "warranty" not in repair_order.document and repair_order.warranty_claim_reference == ""
    assert repair_order_from_rows(repair_order) == repair_order.document


def test_a_mistake_in_the_rows_shows(api, department, customer, vehicle):
    from orders.models import PartLine

    repair_order = created(api, department, sample_body(customer, vehicle))
    PartLine.objects.filter(job__repair_order=repair_order).update(sale_price="45.91")

    rendered = repair_order_from_rows(repair_order)

    assert rendered != repair_order.document
    assert rendered["jobs"][0]["parts"][0]["salePrice"] == "45.91"


def test_it_renders_in_a_constant_number_of_queries(api, department, customer, vehicle, django_assert_num_queries):
    package = make_package(department.dealer, "OIL-SERVICE", "149.00")
    body = workshop_order_body(customer, vehicle, package)
    body["order"]["jobs"] *= 20
    repair_order = created(api, department, body)

    # the order with its customer and vehicle, the jobs, their seven line tables, the references, the
    # order's own mls lines
    with django_assert_num_queries(11):
        repair_order_from_rows(repair_order)
