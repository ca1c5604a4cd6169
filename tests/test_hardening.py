"""Issue 14: each defect an adversarial probe found, with the test that failed before its fix.

Numbers in the class names are the issue's: 1 idempotency, 4 timing, 5 lockout, 7 hostile bytes, 8 misleading
answers, 9 log forging, 10 leaks, 11 the open schema; plus the ``RateLimit-*`` headers of issue 13.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from orders.models import RepairOrder
from orders.tests.factories import CustomerFactory, orders_url, sample_body
from orma.logging import CorrelationIdFilter
from orma.models import IdempotencyRecord
from parts.models import PartsOrder
from parts.tests.factories import base_url, seed_002_world
from tenancy.tests.factories import GrantFactory, PartnerFactory
from tests.clients import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(department):
    return seed_002_world(department)


def parts_orders_url(department) -> str:
    return f"{base_url(department)}/parts-orders"


def post_parts_order(client, department, body, **headers):
    return client.post(parts_orders_url(department), body, format="json", **headers)


def send_json(client, method: str, url: str, document, **headers):
    """``document`` as JSON text with every non-ASCII character escaped, as a client may send a lone
    surrogate (``\\ud800``) or NUL (``\\u0000``): the test client's own encoder refuses the former."""
    return client.generic(method, url, json.dumps(document), content_type="application/json", **headers)


class TestDefect1IdempotencyKeys:
    def test_a_replay_answers_the_stored_bytes(self, api, department, world):
        first = post_parts_order(api, department, world["body"], HTTP_IDEMPOTENCY_KEY="k-1")
        replay = post_parts_order(api, department, world["body"], HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == replay.status_code == 201
        # before: the body was re-serialised from JSON (other separators, other bytes)
        assert replay.content == first.content
        assert replay["Content-Type"] == first["Content-Type"]
        assert replay["Idempotent-Replayed"] == "true"
        assert PartsOrder.objects.count() == 1

    def test_a_claim_whose_request_died_is_taken_over_after_the_in_flight_bound(
        self, api, partner, department, world, settings
    ):
        settings.ORMA_IDEMPOTENCY_IN_FLIGHT_SECONDS = 60
        first = post_parts_order(api, department, world["body"], HTTP_IDEMPOTENCY_KEY="k-2")
        assert first.status_code == 201
        PartsOrder.objects.all().delete()
        # the state a SIGKILLed worker leaves: claimed, never answered
        IdempotencyRecord.objects.filter(key="k-2").update(status_code=None, response_content=None)

        IdempotencyRecord.objects.filter(key="k-2").update(created_at=timezone.now() - timedelta(seconds=59))
        still_in_flight = post_parts_order(api, department, world["body"], HTTP_IDEMPOTENCY_KEY="k-2")
        IdempotencyRecord.objects.filter(key="k-2").update(created_at=timezone.now() - timedelta(seconds=61))
        retried = post_parts_order(api, department, world["body"], HTTP_IDEMPOTENCY_KEY="k-2")

        assert still_in_flight.status_code == 409
        assert retried.status_code == 201  # before: 409 for the key's whole 72 hours
        assert PartsOrder.objects.count() == 1

    def test_a_5xx_releases_the_key(self, api, department):
        body = sample_body(CustomerFactory(dealer=department.dealer))
        with mock.patch("orders.services.repair_order_create", side_effect=OperationalError("database gone")):
            failed = api.put(orders_url(department), body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
        retried = api.put(orders_url(department), body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

        assert failed.status_code == 503
        assert retried.status_code == 201
        assert RepairOrder.objects.count() == 1


class TestDefect4UsernameEnumerationByTiming:
    """The unknown username and the known one with a wrong secret do the same work: queries, cache calls,
    hash calls (their time is not compared: no timed assertions)."""

    @staticmethod
    def _work(client, url, header) -> dict[str, object]:
        from django.core.cache import cache
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        import orma.api.auth

        calls: list[str] = []
        real = {name: getattr(cache, name) for name in ("get", "get_many", "set", "add", "incr", "delete")}

        def spy(name):
            def call(*args, **kwargs):
                calls.append(name)
                return real[name](*args, **kwargs)

            return call

        hashes = mock.Mock(wraps=orma.api.auth.hash_secret)
        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch("orma.api.auth.hash_secret", hashes),
            mock.patch.multiple(cache, **{name: spy(name) for name in real}),
            mock.patch("orma.cache.redis_client", return_value=None),  # every cache call through Django's API
        ):
            status = client.get(url, HTTP_AUTHORIZATION=header).status_code
        return {"status": status, "queries": len(queries), "cache": calls, "hashes": hashes.call_count}

    @override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
    def test_an_unknown_username_costs_what_a_known_one_with_a_wrong_secret_costs(self, anon, department, partner):
        url = f"{orders_url(department)}?limit=1"
        known = basic_auth(partner.username, "wrong-secret")
        unknown = basic_auth("nobody-has-this-name", "wrong-secret")
        cold = [self._work(anon, url, known), self._work(anon, url, unknown)]  # first sight: both load
        warm = [self._work(anon, url, known), self._work(anon, url, unknown)]

        assert cold[0] == cold[1]
        assert warm[0] == warm[1]  # before: the unknown one queried the database every time (1 vs 0)
        assert warm[0]["queries"] == 0 and warm[0]["hashes"] == 1 and warm[0]["status"] == 401

    def test_a_partner_created_after_a_guess_at_its_name_can_log_in_at_once(self, anon, department):
        assert anon.get(orders_url(department), HTTP_AUTHORIZATION=basic_auth("late-comer", "x")).status_code == 401
        late = PartnerFactory(username="late-comer")
        GrantFactory(partner=late, department=department)

        answer = anon.get(orders_url(department), HTTP_AUTHORIZATION=basic_auth(late.username, late.secret))

        assert answer.status_code == 200  # the cached absence is evicted with the partner's creation


class TestDefect5LockoutOfAnotherPartner:
    def test_a_guesser_at_another_address_does_not_lock_the_partner_out(self, anon, department, partner, settings):
        settings.ORMA_AUTH_FAIL_LIMIT_USERNAME = 10
        wrong = basic_auth(partner.username, "wrong")
        for _ in range(15):
            anon.get(orders_url(department), HTTP_AUTHORIZATION=wrong, REMOTE_ADDR="203.0.113.66")
        good = basic_auth(partner.username, partner.secret)

        at_attacker = anon.get(orders_url(department), HTTP_AUTHORIZATION=good, REMOTE_ADDR="203.0.113.66")
        at_partner = anon.get(orders_url(department), HTTP_AUTHORIZATION=good, REMOTE_ADDR="198.51.100.20")

        assert at_attacker.status_code == 429
        assert at_partner.status_code == 200  # before: 429 for everyone while the guessing went on

    def test_history_names_the_partner_by_its_display_name_not_its_login(self, api, department, partner):
        created = api.put(orders_url(department), sample_body(CustomerFactory(dealer=department.dealer)), format="json")
        order_uuid = created.json()["orderUUID"]

        history = api.get(f"{orders_url(department)}/{order_uuid}/history").json()["history"]

        assert history[0]["actor"] == partner.name
        assert partner.username not in json.dumps(history)


def _basic_raw(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode("utf-8", "surrogatepass")).decode()


class TestDefect7HostileBytes:
    """NUL and lone surrogates in headers, query parameters, paths and bodies of both families: 400/401."""

    @pytest.mark.schema_exempt(reason="hostile bytes the schema cannot describe")
    def test_a_sweep_of_hostile_bytes_never_answers_5xx(self, api, anon, department, world):
        api.raise_request_exception = False
        anon.raise_request_exception = False
        orders = orders_url(department)
        parts = base_url(department)
        part_id = world["part"].part_id
        body = dict(world["body"])
        answers = {
            "NUL in the Basic username": anon.get(orders, HTTP_AUTHORIZATION=_basic_raw("a\x00b", "x")),
            "NUL in the Basic username (parts)": anon.get(f"{parts}/parts", HTTP_AUTHORIZATION=_basic_raw("\x00", "x")),
            "a control character in the username": anon.get(orders, HTTP_AUTHORIZATION=_basic_raw("a\x01", "x")),
            "NUL in the secret": anon.get(orders, HTTP_AUTHORIZATION=_basic_raw("someone", "\x00")),
            "NUL in Idempotency-Key": api.post(
                f"{parts}/parts-orders", body, format="json", HTTP_IDEMPOTENCY_KEY="a\x00b"
            ),
            "NUL in If-Match": api.put(f"{orders}/{uuid.uuid4()}", {}, format="json", HTTP_IF_MATCH='"1\x00"'),
            "NUL in X-Correlation-ID": api.get(orders, HTTP_X_CORRELATION_ID="a\x00b"),
            "NUL in a query value (orders)": api.get(orders, {"orderNumber": "a\x00b"}),
            "NUL in a query value (parts)": api.get(f"{parts}/parts", {"search": "a\x00b"}),
            "NUL in a query name": api.get(f"{parts}/parts", {"se\x00arch": "x"}),
            "NUL in a path (part id)": api.get(f"{parts}/parts/{part_id[:2]}%00{part_id[2:]}"),
            "NUL in a path (parts order id)": api.get(f"{parts}/parts-orders/1%00"),
            "a lone surrogate in a failing parts field": send_json(
                api, "POST", f"{parts}/parts-orders", {**body, "orderType": "\ud800"}
            ),
            "a lone surrogate in a passing parts field": send_json(
                api, "POST", f"{parts}/parts-orders", {**body, "orderReference": "ref-\udfff"}
            ),
            "NUL in a parts field": send_json(
                api, "POST", f"{parts}/parts-orders", {**body, "orderReference": "a\x00"}
            ),
            "a lone surrogate in a parts key": send_json(api, "POST", f"{parts}/parts-orders", {**body, "\ud800": 1}),
            "a lone surrogate in a price-availability body": send_json(
                api, "POST", f"{parts}/price-availability", {"parts": [{"partId": "\ud800", "quantity": 1}]}
            ),
            "NUL in an orders body": send_json(api, "PUT", orders, {"order": {"type": "RO\x00"}}),
            "a lone surrogate in an orders body": send_json(api, "PUT", orders, {"order": {"header": "\udc00"}}),
        }

        statuses = {case: answer.status_code for case, answer in answers.items()}
        assert {c: s for c, s in statuses.items() if s not in (400, 401, 404)} == {}
        for case, answer in answers.items():
            assert answer["Content-Type"].startswith("application/json"), case
            json.loads(answer.content)  # every answer is JSON that encodes
        assert PartsOrder.objects.count() == 0
        # a surrogate's UTF-8 bytes in a query are no surrogate: Django decodes them as U+FFFD, a plain search
        assert api.get(f"{parts}/parts", QUERY_STRING="search=%ED%A0%80").status_code == 200

    @pytest.mark.postgres
    @pytest.mark.schema_exempt(reason="a NUL the schema cannot describe")
    def test_a_nul_in_the_basic_username_answers_401_on_postgresql(self, anon, department, caplog):
        anon.raise_request_exception = False
        answer = anon.get(orders_url(department), HTTP_AUTHORIZATION=_basic_raw("a\x00b", "x"))

        assert answer.status_code == 401  # before: 500, and an ERROR traceback per request
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    def test_a_parts_refusal_echoing_a_lone_surrogate_encodes(self, api, department, world):
        answer = send_json(api, "POST", parts_orders_url(department), {**world["body"], "orderType": "\ud800"})

        assert answer.status_code == 400  # before: 500 while rendering the 400 that echoed it
        assert answer.json()["details"][0]["field"] == "orderType"


@pytest.mark.urls("tests.probe_urls")
class TestDefect8MisleadingAnswers:
    @pytest.mark.schema_exempt(reason="a chunked body is refused before any operation")
    def test_a_chunked_body_answers_411(self, api, department):
        answer = api.generic(
            "POST",
            f"/parts-api/{department.dealer.uuid}/{department.uuid}/v1/probe",
            b"",
            content_type="application/json",
            HTTP_TRANSFER_ENCODING="chunked",
        )

        assert answer.status_code == 411  # before: the body read as empty
        assert answer.json()["details"][0]["issue"].startswith("Send the body with a Content-Length")

    @pytest.mark.schema_exempt(reason="a Host outside ALLOWED_HOSTS")
    def test_a_host_outside_allowed_hosts_answers_400_in_the_family_shape_without_a_traceback(
        self, api, department, caplog
    ):
        answer = api.get(f"/order/v2/department/{department.uuid}/probe", HTTP_HOST="evil.example")

        assert answer.status_code == 400
        assert answer.json()["errors"][0]["errorCode"] == "FIELD_INVALID"  # before: MALFORMED_JSON
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]  # before: ERROR traceback

    def test_a_host_outside_allowed_hosts_on_a_page_answers_a_plain_400(self, anon, caplog):
        answer = anon.get("/healthz", HTTP_HOST="evil.example")

        assert answer.status_code == 400
        assert not [r for r in caplog.records if r.exc_info]

    @pytest.mark.schema_exempt(reason="OPTIONS is not an operation of the schema")
    def test_options_answers_204_with_allow(self, anon, department):
        answer = anon.options(f"/order/v2/department/{department.uuid}/probe")

        assert answer.status_code == 204  # before: 405 although Allow listed OPTIONS
        assert "OPTIONS" in answer["Allow"] and "GET" in answer["Allow"]

    def test_the_parts_500_asks_for_what_it_contains(self, api, department):
        api.raise_request_exception = False
        with mock.patch("tests.probe_urls.PartsProbe.get", side_effect=RuntimeError("a bug")):
            answer = api.get(f"/parts-api/{department.dealer.uuid}/{department.uuid}/v1/probe")

        body = answer.json()
        assert answer.status_code == 500
        assert "errorUID" not in json.dumps(body)  # before: "quote the errorUID", which the body lacks
        assert "correlationId" in body["message"] and body["correlationId"]

    @override_settings(SECURE_SSL_REDIRECT=True)
    @pytest.mark.schema_exempt(reason="plain http is refused before any operation")
    def test_plain_http_under_the_api_answers_a_json_4xx(self, api, anon, department):
        answer = api.get(f"/order/v2/department/{department.uuid}/probe")
        page = anon.get("/admin/login/")

        assert answer.status_code == 403  # before: an HTML 301
        assert answer.json()["errors"][0]["errorDescription"].startswith("Use https")
        assert page.status_code == 301  # pages still redirect
        secure = api.get(f"/order/v2/department/{department.uuid}/probe", secure=True)
        assert secure.status_code == 200


@pytest.mark.urls("tests.probe_urls")
class TestDefect9LogForging:
    def test_a_correlation_id_outside_the_safe_alphabet_is_replaced(self, api, department):
        forged = "x] ERROR forged [cid=y"
        answer = api.get(f"/order/v2/department/{department.uuid}/probe", HTTP_X_CORRELATION_ID=forged)

        assert answer["X-Correlation-ID"] != forged  # before: accepted and logged verbatim
        uuid.UUID(answer["X-Correlation-ID"])
        kept = api.get(f"/order/v2/department/{department.uuid}/probe", HTTP_X_CORRELATION_ID="ab-1.2_3:4")
        assert kept["X-Correlation-ID"] == "ab-1.2_3:4"

    def test_django_request_lines_carry_the_correlation_id(self, api, department, caplog):
        api.raise_request_exception = False
        api.get(f"/order/v2/department/{department.uuid}/boom", HTTP_X_CORRELATION_ID="cid-of-the-boom")

        records = [r for r in caplog.records if r.name == "django.request"]
        assert records
        for record in records:
            CorrelationIdFilter().filter(record)
            assert record.correlation_id == "cid-of-the-boom"  # before: "-" (logged after the context ended)


@pytest.mark.urls("tests.probe_urls")
class TestDefect10Leaks:
    def test_api_answers_are_not_stored_by_caches(self, api, anon, department):
        for answer in (api.get(f"/order/v2/department/{department.uuid}/probe"), anon.get("/notification/v1/probe")):
            assert answer["Cache-Control"] == "no-store"

    def test_the_admin_and_the_docs_send_a_content_security_policy(self, anon):
        for path in ("/admin/login/", "/api/docs/"):
            policy = anon.get(path)["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy

    def test_the_docs_page_has_no_inline_script(self, anon):
        page = anon.get("/api/docs/").content.decode()

        assert "<script>" not in page.replace(" ", "")  # every script has a src, so the policy allows it


class TestDefect11TheOpenSchema:
    def test_the_schema_is_built_once_per_process(self, anon):
        from drf_spectacular.generators import SchemaGenerator

        from orma.api.views import SchemaView

        SchemaView._rendered.clear()
        with mock.patch.object(
            SchemaGenerator, "get_schema", autospec=True, side_effect=SchemaGenerator.get_schema
        ) as built:
            first = anon.get("/api/schema/")
            second = anon.get("/api/schema/")

        assert first.status_code == second.status_code == 200
        assert first.content == second.content
        assert built.call_count == 1  # before: once per request, 100-130 ms each

    def test_anonymous_requests_to_the_schema_are_throttled_per_address(self, anon, settings):
        settings.ORMA_ANON_RATE_LIMIT = "3/minute"
        statuses = [anon.get("/api/schema/", REMOTE_ADDR="192.0.2.9").status_code for _ in range(4)]
        elsewhere = anon.get("/api/schema/", REMOTE_ADDR="192.0.2.10")

        assert statuses == [200, 200, 200, 429]
        assert elsewhere.status_code == 200
        limited = anon.get("/api/schema/", REMOTE_ADDR="192.0.2.9")
        assert 1 <= int(limited["Retry-After"]) <= 60


class TestRateLimitHeaders:
    """Issue 13: every partner answer says where it stands (the IETF draft's RateLimit-* headers)."""

    def test_a_partner_answer_carries_the_rate_limit_headers(self, api, department, settings):
        settings.ORMA_PARTNER_RATE_LIMIT = "3/minute"
        answers = [api.get(orders_url(department)) for _ in range(4)]

        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        for answer in answers:
            assert answer["RateLimit-Limit"] == "3"
            assert answer["RateLimit-Policy"] == "3;w=60"
            assert 0 <= int(answer["RateLimit-Reset"]) <= 60
        assert int(answers[-1]["Retry-After"]) >= 1

    def test_errors_of_a_partner_carry_them_too(self, api, department):
        answer = api.get(f"{orders_url(department)}/{uuid.uuid4()}")

        assert answer.status_code == 404
        assert answer["RateLimit-Limit"] == "600"


def _follow(client, url: str) -> list[dict]:
    """Every page from ``url`` on, following ``next`` (bounded: a loop would fail the test, not hang it)."""
    pages = []
    for _ in range(100):
        body = client.get(url).json()
        pages.append(body)
        if not body["next"]:
            return pages
        url = body["next"]
    raise AssertionError("next never ended")


class TestDefect3ResponsesWithoutASizeBound:
    @pytest.fixture
    def updated_order(self, api, department):
        body = sample_body(CustomerFactory(dealer=department.dealer))
        created = api.put(orders_url(department), body, format="json").json()["orderUUID"]
        for n in range(6):
            body["order"]["header"]["description"] = f"update {n} " + "x" * 300
            assert api.put(f"{orders_url(department)}/{created}", body, format="json").status_code == 200
        return created

    def test_history_takes_a_limit_and_continues_with_next(self, api, department, updated_order):
        pages = _follow(api, f"{orders_url(department)}/{updated_order}/history?limit=3")

        assert [len(page["history"]) for page in pages] == [3, 3, 1]  # before: limit was refused, one answer
        versions = [entry["version"] for page in pages for entry in page["history"]]
        assert versions == list(range(1, 8))

    def test_a_history_page_ends_at_the_byte_budget(self, api, department, updated_order, settings):
        settings.ORMA_PAGE_BYTE_BUDGET = 1500
        pages = _follow(api, f"{orders_url(department)}/{updated_order}/history?limit=200")

        assert len(pages) > 1
        assert all(len(json.dumps(page["history"])) <= 1500 or len(page["history"]) == 1 for page in pages)
        assert [e["version"] for page in pages for e in page["history"]] == list(range(1, 8))

    def test_a_list_page_ends_at_the_byte_budget(self, api, department, settings):
        customer = CustomerFactory(dealer=department.dealer)
        for n in range(5):
            body = sample_body(customer)
            body["order"]["header"]["orderNumber"] = f"RO-BUDGET-{n}"
            assert api.put(orders_url(department), body, format="json").status_code == 201
        one = len(json.dumps(api.get(f"{orders_url(department)}?limit=1").json()["results"][0]))
        settings.ORMA_PAGE_BYTE_BUDGET = int(one * 2.5)

        pages = _follow(api, f"{orders_url(department)}?limit=200")

        assert [len(page["results"]) for page in pages] == [2, 2, 1]  # before: all 5 in one page
        numbers = [o["header"]["orderNumber"] for page in pages for o in page["results"]]
        assert sorted(numbers) == [f"RO-BUDGET-{n}" for n in range(5)]


class TestDefect10Cursors:
    def test_a_cursor_is_opaque_and_tamper_evident(self, api, department):
        customer = CustomerFactory(dealer=department.dealer)
        for n in range(2):
            body = sample_body(customer)
            body["order"]["header"]["orderNumber"] = f"RO-CURSOR-{n}"
            api.put(orders_url(department), body, format="json")
        next_url = api.get(f"{orders_url(department)}?limit=1").json()["next"]
        cursor = next_url.split("cursor=")[1]
        newest = RepairOrder.objects.order_by("-created_instant", "-id").first()

        padded = cursor.replace("%3D", "=") + "=" * (-len(cursor) % 4)
        readable = base64.urlsafe_b64decode(padded.encode())
        # before: base64 of [instant, id], the global row id for anyone to read
        assert newest.created_instant.isoformat()[:19].encode() not in readable
        assert f", {newest.id}]".encode() not in readable
        assert api.get(next_url).status_code == 200
        tampered = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
        answer = api.get(f"{orders_url(department)}?limit=1&cursor={tampered}")
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["errorCode"] == "FIELD_INVALID"


class TestDefect10SecretsAtRest:
    def _stored(self, dealer) -> str:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT dms_password FROM orders_dealer WHERE id = %s", [dealer.id])
            return cursor.fetchone()[0]

    def test_a_dms_password_is_stored_encrypted_and_read_back_in_the_clear(self, department):
        dealer = department.dealer
        dealer.dms_password = "s3cret-DMS-password"
        dealer.save()

        stored = self._stored(dealer)
        assert "s3cret" not in stored and stored.startswith("fernet:")  # before: the password itself
        dealer.refresh_from_db()
        assert dealer.dms_password == "s3cret-DMS-password"

    def test_the_key_rotates(self, department, settings, run_json):
        from cryptography.fernet import Fernet

        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        settings.ORMA_ENCRYPTION_KEYS = [old]
        dealer = department.dealer
        dealer.dms_password = "rotate-me"
        dealer.save()
        under_old = self._stored(dealer)

        settings.ORMA_ENCRYPTION_KEYS = [new, old]
        assert run_json("orma_rotate_encryption_key") == {"dealers": 1, "subscriptions": 0}
        settings.ORMA_ENCRYPTION_KEYS = [new]  # the old key dropped

        dealer.refresh_from_db()
        assert dealer.dms_password == "rotate-me"
        assert self._stored(dealer) != under_old

    def test_the_migration_encrypts_passwords_stored_in_the_clear(self, department):
        import importlib

        from django.apps import apps
        from django.db import connection

        dealer = department.dealer
        with connection.cursor() as cursor:  # a row as it was before encryption
            cursor.execute("UPDATE orders_dealer SET dms_password = %s WHERE id = %s", ["plain-old", dealer.id])
        migration = importlib.import_module("tenancy.migrations.0002_dealer_dms_password_encrypted")

        migration.encrypt_stored_passwords(apps, None)

        assert self._stored(dealer).startswith("fernet:")
        dealer.refresh_from_db()
        assert dealer.dms_password == "plain-old"


class TestDefect6AdminBruteForce:
    @pytest.fixture
    def admin_user(self, db):
        from django.contrib.auth.models import User

        return User.objects.create_superuser("boss", "boss@example.com", "the-right-password-42")

    @staticmethod
    def _login(client, password: str, address: str = "192.0.2.30"):
        return client.post(
            "/admin/login/?next=/admin/", {"username": "boss", "password": password}, REMOTE_ADDR=address
        )

    def test_25_wrong_passwords_lock_the_login_until_support_lifts_it(self, client, admin_user, run_json, settings):
        settings.AXES_FAILURE_LIMIT = 10
        wrong = [self._login(client, f"guess-{n}").status_code for n in range(25)]
        locked = self._login(client, "the-right-password-42")

        assert wrong[:9] == [200] * 9  # the form again, "please enter a correct username and password"
        assert set(wrong[10:]) == {429}
        assert locked.status_code == 429  # before: 302, logged in
        assert b"Account locked" in locked.content
        assert run_json("orma_unlock_admin", "--username", "boss", "--address", "192.0.2.30")["lifted"] >= 1
        assert self._login(client, "the-right-password-42").status_code == 302

    def test_another_address_is_not_locked_by_a_guesser(self, client, admin_user, settings):
        settings.AXES_FAILURE_LIMIT = 10
        for n in range(12):
            self._login(client, f"guess-{n}", address="203.0.113.99")

        assert self._login(client, "the-right-password-42", address="198.51.100.5").status_code == 302


def test_a_webhook_signing_secret_is_stored_encrypted(db):
    from django.db import connection

    from notifications.tests.factories import SubscriptionFactory

    subscription = SubscriptionFactory()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notifications_subscription WHERE id = %s", [subscription.id])
        stored = cursor.fetchone()[0]
    subscription.refresh_from_db()

    assert stored.startswith("fernet:") and subscription.secret not in stored
    assert subscription.secret.startswith("whsec_")
