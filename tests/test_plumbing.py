"""Authorisation, error shapes of the three families, correlation id and health endpoints."""

from __future__ import annotations

import uuid

import pytest

from tenancy.tests.factories import DepartmentFactory, GrantFactory, PartnerFactory
from tests.clients import basic_auth, comparable_headers, without_error_uids

pytestmark = [pytest.mark.urls("tests.probe_urls"), pytest.mark.django_db]

CID = "plumbing-test"


def order_url(department_uuid) -> str:
    return f"/order/v2/department/{department_uuid}/probe"


def parts_url(department) -> str:
    return f"/parts-api/{department.dealer.uuid}/{department.uuid}/v1/probe"


class TestTenantIsolation:
    def test_another_partners_department_answers_like_a_missing_one(self, api, department):
        foreign = GrantFactory().department

        foreign_answer = api.get(order_url(foreign.uuid), HTTP_X_CORRELATION_ID=CID)
        missing_answer = api.get(order_url(uuid.uuid4()), HTTP_X_CORRELATION_ID=CID)

        assert foreign_answer.status_code == missing_answer.status_code == 404
        assert without_error_uids(foreign_answer.content) == without_error_uids(missing_answer.content)
        assert comparable_headers(foreign_answer) == comparable_headers(missing_answer)
        assert foreign_answer.json()["errors"][0]["errorCode"] == "NOT_FOUND"

    def test_a_malformed_department_id_answers_the_same_404(self, api):
        malformed = api.get("/order/v2/department/not-a-uuid/probe", HTTP_X_CORRELATION_ID=CID)
        missing = api.get(order_url(uuid.uuid4()), HTTP_X_CORRELATION_ID=CID)

        assert malformed.status_code == 404
        assert without_error_uids(malformed.content) == without_error_uids(missing.content)

    def test_parts_store_of_another_dealer_answers_like_a_missing_one(self, api, department):
        other_dealers_store = DepartmentFactory()
        wrong_enterprise = f"/parts-api/{other_dealers_store.dealer.uuid}/{department.uuid}/v1/probe"

        mismatched = api.get(wrong_enterprise, HTTP_X_CORRELATION_ID=CID)
        missing = api.get(f"/parts-api/{uuid.uuid4()}/{uuid.uuid4()}/v1/probe", HTTP_X_CORRELATION_ID=CID)

        assert mismatched.status_code == missing.status_code == 404
        assert without_error_uids(mismatched.content) == without_error_uids(missing.content)
        assert api.get(parts_url(department)).status_code == 200

    def test_a_missing_scope_answers_403(self, anon, department):
        partner = PartnerFactory()
        GrantFactory(partner=partner, department=department, scopes=["order.read"])
        anon.credentials(HTTP_AUTHORIZATION=basic_auth(partner.username, partner.secret))

        assert anon.get(order_url(department.uuid)).status_code == 200
        refused = anon.put(order_url(department.uuid), {"order": {}}, format="json")

        assert refused.status_code == 403
        assert refused.json()["errors"][0]["errorCode"] == "FORBIDDEN"

    def test_notifications_need_the_scope_on_some_department(self, anon, department):
        partner = PartnerFactory()
        GrantFactory(partner=partner, department=department, scopes=["order.read"])
        anon.credentials(HTTP_AUTHORIZATION=basic_auth(partner.username, partner.secret))

        refused = anon.get("/notification/v1/probe")

        assert refused.status_code == 403
        assert "lacks the scope" in refused.json()["message"]


def assert_order_envelope(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors", "warnings", "orderUUID", "statusCode"}
    assert body["statusCode"] == status
    assert body["warnings"] == []
    assert body["orderUUID"] is None
    [error] = body["errors"]
    assert error["errorCode"] == code
    assert set(error) == {"errorCode", "errorTitle", "errorDescription", "errorUID"}
    uuid.UUID(error["errorUID"])


def assert_parts_error(response, status: int, correlation_id: str = CID) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"correlationId", "message", "details", "links"}
    assert body["correlationId"] == correlation_id
    assert body["links"] == []
    assert isinstance(body["message"], str) and body["message"]


class TestOrderFamilyErrors:
    def test_unknown_path(self, api, department):
        assert_order_envelope(api.get(f"/order/v2/department/{department.uuid}/nothing-here"), 404, "NOT_FOUND")
        assert_order_envelope(api.get("/order/v2/"), 404, "NOT_FOUND")

    def test_wrong_method(self, api, department):
        response = api.delete(order_url(department.uuid))

        assert_order_envelope(response, 405, "METHOD_NOT_ALLOWED")
        assert "GET" in response["Allow"]

    def test_wrong_content_type(self, api, department):
        response = api.put(order_url(department.uuid), "<order/>", content_type="application/xml")

        assert_order_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")

    @pytest.mark.parametrize("body", ["{", '{"order": ', "\xff", "NaN-ish", "[1,2"])
    def test_malformed_json(self, api, department, body):
        response = api.put(order_url(department.uuid), body, content_type="application/json")

        assert_order_envelope(response, 400, "MALFORMED_JSON")

    def test_a_bug_answers_500_in_the_envelope_not_html(self, api, department):
        api.raise_request_exception = False
        response = api.get(f"/order/v2/department/{department.uuid}/boom")

        assert_order_envelope(response, 500, "INTERNAL_ERROR")

    def test_error_uids_are_unique_per_error_even_under_one_correlation_id(self, api, caplog):
        first = api.get(order_url(uuid.uuid4()), HTTP_X_CORRELATION_ID="a").json()["errors"][0]["errorUID"]
        again = api.get(order_url(uuid.uuid4()), HTTP_X_CORRELATION_ID="a").json()["errors"][0]["errorUID"]

        assert first != again  # DESIGN §4: unique per error (they were uuid5 of the correlation id: equal)
        logged = [r.getMessage() for r in caplog.records if r.name == "orma.api"]
        assert any(first in line for line in logged) and any(again in line for line in logged)


class TestPartsAndNotificationFamilyErrors:
    def test_unknown_path(self, api, department):
        assert_parts_error(api.get(f"{parts_url(department)}/nope", HTTP_X_CORRELATION_ID=CID), 404)
        assert_parts_error(api.get("/notification/v1/nope", HTTP_X_CORRELATION_ID=CID), 404)

    def test_wrong_method(self, api, department):
        assert_parts_error(api.delete(parts_url(department), HTTP_X_CORRELATION_ID=CID), 405)
        assert_parts_error(api.delete("/notification/v1/probe", HTTP_X_CORRELATION_ID=CID), 405)

    def test_wrong_content_type(self, api, department):
        for url in (parts_url(department), "/notification/v1/probe"):
            response = api.post(url, "a=b", content_type="application/x-www-form-urlencoded", HTTP_X_CORRELATION_ID=CID)
            assert_parts_error(response, 415)

    def test_malformed_json(self, api, department):
        for url in (parts_url(department), "/notification/v1/probe"):
            response = api.post(url, "{oops", content_type="application/json", HTTP_X_CORRELATION_ID=CID)
            assert_parts_error(response, 400)
            assert response.json()["message"] == "The request body is not valid JSON."

    def test_unauthenticated(self, anon, department):
        response = anon.get(parts_url(department), HTTP_X_CORRELATION_ID=CID)

        assert_parts_error(response, 401)
        assert response["WWW-Authenticate"] == 'Basic realm="OrMa"'

    def test_a_good_request_passes(self, api, department):
        assert api.post(parts_url(department), {"a": 1}, format="json").json() == {"echo": {"a": 1}}


class TestCorrelationId:
    def test_it_echoes_a_valid_id(self, api, department):
        response = api.get(order_url(department.uuid), HTTP_X_CORRELATION_ID="abc-123_x.y")

        assert response["X-Correlation-ID"] == "abc-123_x.y"

    def test_it_generates_one_when_absent(self, api, department):
        response = api.get(order_url(department.uuid))

        uuid.UUID(response["X-Correlation-ID"])

    @pytest.mark.parametrize("bad", ["x" * 65, "tab\there", "ünïcode", " leading", ""])
    def test_it_replaces_an_invalid_one(self, api, department, bad):
        response = api.get(order_url(department.uuid), HTTP_X_CORRELATION_ID=bad)

        assert response["X-Correlation-ID"] != bad
        uuid.UUID(response["X-Correlation-ID"])

    def test_sixty_four_characters_are_accepted(self, api, department):
        assert api.get(order_url(department.uuid), HTTP_X_CORRELATION_ID="y" * 64)["X-Correlation-ID"] == "y" * 64

    def test_it_is_in_the_parts_error_body(self, anon, department):
        response = anon.get(parts_url(department), HTTP_X_CORRELATION_ID="trace-me")

        assert response.json()["correlationId"] == "trace-me"

    def test_it_is_in_every_log_line_of_the_request(self, api, caplog):
        import logging

        from orma.logging import CorrelationIdFilter

        caplog.handler.addFilter(CorrelationIdFilter())  # stamps each record as it is emitted
        with caplog.at_level(logging.INFO):
            api.get(order_url(uuid.uuid4()), HTTP_X_CORRELATION_ID="log-me")

        assert caplog.records
        assert {record.correlation_id for record in caplog.records} == {"log-me"}


class TestHealth:
    def test_healthz(self, client):
        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_readyz_reports_database_and_broker(self, client, settings):
        response = client.get("/readyz")

        assert response.status_code == 200
        body = response.json()
        assert body["database"] == "ok"
        assert body["broker"] == ("ok" if settings.CELERY_BROKER_URL else "eager")

    def test_readyz_names_a_broker_that_is_down(self, client, settings):
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

        response = client.get("/readyz")

        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["broker"].startswith("down")
        assert response.json()["database"] == "ok"

    def test_schema_and_docs_work_offline(self, client):
        schema = client.get("/api/schema/")
        docs = client.get("/api/docs/")

        assert schema.status_code == 200
        assert b"openapi" in schema.content
        assert docs.status_code == 200
        assert b"swagger-ui" in docs.content
        assert b"cdn.jsdelivr" not in docs.content  # sidecar: served by OrMa itself


class TestQueryParameters:
    @pytest.mark.parametrize("query", ["status=%00", "vin=WVW%00", "a%00b=1"])
    def test_a_nul_in_a_query_parameter_is_a_400_in_each_family(self, api, department, query):
        orders = api.get(f"{order_url(department.uuid)}?{query}")
        parts = api.get(f"{parts_url(department)}?{query}", HTTP_X_CORRELATION_ID=CID)

        assert orders.status_code == 400
        assert orders.json()["errors"][0]["errorCode"] == "FIELD_INVALID"
        assert_parts_error(parts, 400)
