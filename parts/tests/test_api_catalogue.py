"""The catalogue endpoints (seed 003): ``parts`` (search) and ``parts/{partId}`` (details)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tenancy.tests.factories import DepartmentFactory

from .factories import PartFactory, base_url

pytestmark = pytest.mark.django_db


class TestSearch:
    def test_it_finds_by_part_id_part_code_or_description_within_the_dealer(self, api, store, dealer):
        disc = PartFactory(dealer=dealer, part_id="VW1K0615301AC", part_code="1K0615301AC", description="Brake disc")
        pads = PartFactory(dealer=dealer, part_id="VW1K0698151", part_code="1K0698151", description="Brake pads")
        PartFactory(dealer=dealer, part_id="AUDI8W0959754", brand_code="A", part_code="8W0959754", description="Key")
        PartFactory(part_id="VW1K0615301AD", description="Brake disc of another dealer")

        def found(**query):
            body = api.get(f"{base_url(store)}/parts", query).json()
            return [part["partId"] for part in body["results"]]

        assert found(search="VW1K06") == [disc.part_id, pads.part_id]
        assert found(search="1K0698") == [pads.part_id]
        assert found(search="brake") == [disc.part_id, pads.part_id]
        assert found(brandCode="AUDI") == ["AUDI8W0959754"]  # the long name is accepted for seed 002's short code
        assert found(brandCode="A") == ["AUDI8W0959754"]
        assert found(search="nothing-like-it") == []

    def test_a_result_is_a_summary_with_the_list_price(self, api, store, dealer):
        successor = PartFactory(dealer=dealer, part_id="VW2")
        PartFactory(dealer=dealer, part_id="VW1", part_code="1", description="Old", superseded_by=successor)

        (result,) = api.get(f"{base_url(store)}/parts", {"search": "VW1"}).json()["results"]

        assert result == {
            "partId": "VW1",
            "brandCode": "V",
            "partCode": "1",
            "description": "Old",
            "unitOfSale": 1,
            "listPrice": {"netValue": 100, "grossValue": 120, "taxValue": 20, "taxRate": 20, "currencyCode": "EUR"},
            "supersededBy": "VW2",
        }

    def test_it_pages_with_a_cursor(self, api, store, dealer):
        PartFactory.create_batch(5, dealer=dealer)

        first = api.get(f"{base_url(store)}/parts", {"limit": 3}).json()
        second = api.get(first["next"]).json()

        assert len(first["results"]) == 3 and len(second["results"]) == 2
        assert second["next"] is None
        ids = [p["partId"] for p in first["results"] + second["results"]]
        assert ids == sorted(ids) and len(set(ids)) == 5

    def test_an_unknown_query_parameter_is_refused_not_ignored(self, api, store):
        response = api.get(f"{base_url(store)}/parts", {"brandcode": "VW"})

        assert response.status_code == 400
        (detail,) = response.json()["details"]
        assert detail["field"] == "brandcode"
        assert detail["issue"].startswith("unknown query parameter 'brandcode'")

    @pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "201"}, {"cursor": "garbage!"}])
    def test_bad_paging_answers_400(self, api, store, query):
        response = api.get(f"{base_url(store)}/parts", query)

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] in ("limit", "cursor")


class TestDetails:
    def test_it_answers_the_parts_details_with_supersession_both_ways(self, api, store, dealer):
        newer = PartFactory(dealer=dealer, part_id="VW3", description="Newest")
        part = PartFactory(
            dealer=dealer,
            part_id="VW2",
            part_code="2",
            description="Brake disc",
            weight_kg=Decimal("7.250"),
            unit_of_sale=2,
            unit_of_measure="SET",
            superseded_by=newer,
            mandatory_vehicle_references=["VIN"],
            discount_group="BRK",
        )
        PartFactory(dealer=dealer, part_id="VW1", superseded_by=part)
        alternative = PartFactory(dealer=dealer, part_id="VW9")
        part.alternatives.add(alternative)

        response = api.get(f"{base_url(store)}/parts/VW2")

        assert response.status_code == 200
        body = response.json()
        assert body["partId"] == "VW2"
        assert body["description"] == "Brake disc"
        assert body["weight"] == {"value": 7.25, "unit": "KG"}
        assert body["unitOfMeasure"] == {"unit": "SET", "value": 1}
        assert body["unitOfSale"] == 2
        assert body["listPrice"]["netValue"] == 100
        assert body["discountGroup"] == "BRK"
        assert body["supersededBy"]["partId"] == "VW3"
        assert [p["partId"] for p in body["supersedes"]] == ["VW1"]
        assert [p["partId"] for p in body["alternatives"]] == ["VW9"]
        assert body["mandatoryVehicleReferences"] == ["VIN"]

    def test_an_unknown_or_another_dealers_part_answers_404(self, api, store):
        foreign = PartFactory()

        assert api.get(f"{base_url(store)}/parts/{foreign.part_id}").status_code == 404
        assert api.get(f"{base_url(store)}/parts/NOPE").status_code == 404


class TestTenancy:
    def test_another_dealers_store_answers_404(self, api, store):
        foreign = DepartmentFactory()

        response = api.get(f"{base_url(foreign)}/parts", HTTP_X_CORRELATION_ID="cid-1")
        missing = api.get(f"/parts-api/{uuid.uuid4()}/{uuid.uuid4()}/v1/parts", HTTP_X_CORRELATION_ID="cid-1")

        assert response.status_code == 404
        assert response.content == missing.content
