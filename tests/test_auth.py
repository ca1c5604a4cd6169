"""Partner authentication: every malformed and wrong credential, rotation, lockout, rate limit."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from freezegun import freeze_time

from tenancy.models import Partner
from tenancy.services import partner_rotate_secret
from tests.clients import basic_auth, without_error_uids

pytestmark = [pytest.mark.urls("tests.probe_urls"), pytest.mark.django_db]

CID = {"HTTP_X_CORRELATION_ID": "auth-test-1"}


def probe_url(department) -> str:
    return f"/order/v2/department/{department.uuid}/probe"


def raw_header(value: bytes) -> str:
    return "Basic " + base64.b64encode(value).decode()


BAD_HEADERS = {
    "missing": None,
    "wrong scheme": "Bearer abc.def",
    "bad base64": "Basic !!!not-base64!!!",
    "no colon": raw_header(b"partner-without-colon"),
    "non-utf8": raw_header(b"\xff\xfe:\xfa"),
    "empty username": raw_header(b":secret"),
    "unknown user": basic_auth("nobody", "x" * 43),
}


def get_with(anon, department, header):
    extra = dict(CID)
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    return anon.get(probe_url(department), **extra)


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_it_refuses_bad_credentials_with_401(anon, department, partner, case):
    response = get_with(anon, department, BAD_HEADERS[case])

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="OrMa"'
    body = response.json()
    assert body["statusCode"] == 401
    assert [e["errorCode"] for e in body["errors"]] == ["UNAUTHENTICATED"]


def test_it_answers_every_401_with_the_same_body(anon, department, partner):
    wrong_secret = basic_auth(partner.username, partner.secret[:-1] + ("A" if partner.secret[-1] != "A" else "B"))
    bodies = {
        without_error_uids(get_with(anon, department, header).content)  # errorUIDs are unique per error
        for header in [*BAD_HEADERS.values(), wrong_secret]
    }

    assert len(bodies) == 1


def test_it_accepts_the_right_secret(api, department, partner):
    response = api.get(probe_url(department))

    assert response.status_code == 200
    assert response.json() == {"department": str(department.uuid), "partner": partner.username}


def test_it_refuses_an_inactive_partner(anon, department, partner):
    Partner.objects.filter(pk=partner.pk).update(is_active=False)

    response = get_with(anon, department, basic_auth(partner.username, partner.secret))

    assert response.status_code == 401


def test_it_forgets_cached_credentials_when_the_partner_changes(api, anon, department, partner):
    assert api.get(probe_url(department)).status_code == 200  # now cached
    partner.is_active = False
    partner.save()

    assert api.get(probe_url(department)).status_code == 401


class TestRotation:
    def test_it_accepts_the_old_secret_inside_the_grace_period(self, anon, department, partner):
        old = partner.secret
        _, new, valid_until = partner_rotate_secret(username=partner.username, grace_hours=2)

        assert get_with(anon, department, basic_auth(partner.username, new)).status_code == 200
        assert get_with(anon, department, basic_auth(partner.username, old)).status_code == 200
        with freeze_time(valid_until - timedelta(seconds=1)):
            assert get_with(anon, department, basic_auth(partner.username, old)).status_code == 200

    def test_it_refuses_the_old_secret_after_the_grace_period(self, anon, department, partner):
        old = partner.secret
        _, new, valid_until = partner_rotate_secret(username=partner.username, grace_hours=2)

        with freeze_time(valid_until + timedelta(seconds=1)):
            assert get_with(anon, department, basic_auth(partner.username, old)).status_code == 401
            assert get_with(anon, department, basic_auth(partner.username, new)).status_code == 200

    def test_it_refuses_the_old_secret_at_once_without_grace(self, anon, department, partner):
        old = partner.secret
        call_command("orma_rotate_partner_secret", "--username", partner.username, "--json")

        assert get_with(anon, department, basic_auth(partner.username, old)).status_code == 401

    def test_a_second_rotation_ends_the_first_grace(self, anon, department, partner):
        first = partner.secret
        partner_rotate_secret(username=partner.username, grace_hours=2)
        partner_rotate_secret(username=partner.username, grace_hours=2, force=True)  # inside the grace: forced

        assert get_with(anon, department, basic_auth(partner.username, first)).status_code == 401


class TestLockout:
    @pytest.fixture(autouse=True)
    def _limits(self, settings):
        settings.ORMA_AUTH_FAIL_LIMIT_USERNAME = 10
        settings.ORMA_AUTH_FAIL_LIMIT_ADDRESS = 100
        settings.ORMA_AUTH_FAIL_WINDOW_SECONDS = 300

    def test_it_locks_a_username_after_ten_failures(self, anon, department, partner):
        wrong = basic_auth(partner.username, "wrong")
        statuses = [get_with(anon, department, wrong).status_code for _ in range(10)]
        assert statuses == [401] * 10

        locked = get_with(anon, department, basic_auth(partner.username, partner.secret))

        assert locked.status_code == 429
        assert 1 <= int(locked["Retry-After"]) <= 300
        assert locked.json()["errors"][0]["errorCode"] == "RATE_LIMITED"

    def test_nine_failures_do_not_lock(self, anon, department, partner):
        wrong = basic_auth(partner.username, "wrong")
        for _ in range(9):
            get_with(anon, department, wrong)

        assert get_with(anon, department, basic_auth(partner.username, partner.secret)).status_code == 200

    # Local memory expires by the (frozen) clock; Redis expiry is covered in test_counters.
    @override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
    def test_the_lock_ends_with_the_window(self, anon, department, partner):
        wrong = basic_auth(partner.username, "wrong")
        good = basic_auth(partner.username, partner.secret)
        with freeze_time() as clock:
            for _ in range(10):
                get_with(anon, department, wrong)
            clock.tick(299)
            assert get_with(anon, department, good).status_code == 429
            clock.tick(2)
            assert get_with(anon, department, good).status_code == 200

    def test_it_locks_an_address_after_a_hundred_failures(self, anon, department, partner):
        for n in range(100):
            get_with(anon, department, basic_auth(f"guess-{n}", "wrong"))

        locked = get_with(anon, department, basic_auth(partner.username, partner.secret))

        assert locked.status_code == 429
        assert int(locked["Retry-After"]) >= 1

    def test_a_locked_username_does_not_lock_out_another_partner_at_the_same_address(self, anon, department, partner):
        from tenancy.tests.factories import GrantFactory, PartnerFactory

        other = PartnerFactory()
        GrantFactory(partner=other, department=department)
        for _ in range(12):
            get_with(anon, department, basic_auth(partner.username, "wrong"))

        assert get_with(anon, department, basic_auth(other.username, other.secret)).status_code == 200
        assert get_with(anon, department, basic_auth(partner.username, partner.secret)).status_code == 429

    @override_settings(ORMA_TRUSTED_PROXIES=["10.0.0.1"])
    def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(self, anon, department, partner):
        for n in range(100):
            anon.get(
                probe_url(department),
                HTTP_AUTHORIZATION=basic_auth(f"guess-{n}", "wrong"),
                REMOTE_ADDR="10.0.0.1",
                HTTP_X_FORWARDED_FOR="203.0.113.7",
            )
        good = basic_auth(partner.username, partner.secret)

        from_attacker = anon.get(
            probe_url(department), HTTP_AUTHORIZATION=good, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7"
        )
        from_other_client = anon.get(
            probe_url(department), HTTP_AUTHORIZATION=good, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9"
        )

        assert from_attacker.status_code == 429
        assert from_other_client.status_code == 200

    def test_forwarded_for_from_an_untrusted_peer_is_ignored(self, anon, department, partner):
        for n in range(100):
            anon.get(
                probe_url(department),
                HTTP_AUTHORIZATION=basic_auth(f"guess-{n}", "wrong"),
                REMOTE_ADDR="192.0.2.50",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",  # spoofed, varying: must not spread the count
            )

        response = anon.get(
            probe_url(department),
            HTTP_AUTHORIZATION=basic_auth(partner.username, partner.secret),
            REMOTE_ADDR="192.0.2.50",
        )

        assert response.status_code == 429


class TestRateLimit:
    @override_settings(ORMA_PARTNER_RATE_LIMIT="5/minute")
    def test_it_limits_requests_per_partner(self, api, department):
        statuses = [api.get(probe_url(department)).status_code for _ in range(6)]

        assert statuses == [200] * 5 + [429]
        limited = api.get(probe_url(department))
        assert limited.json()["errors"][0]["errorCode"] == "RATE_LIMITED"
        assert 1 <= int(limited["Retry-After"]) <= 60

    def test_a_partner_limit_overrides_the_default(self, api, department, partner):
        Partner.objects.filter(pk=partner.pk).update(rate_limit_per_minute=2)

        statuses = [api.get(probe_url(department)).status_code for _ in range(3)]

        assert statuses == [200, 200, 429]

    @override_settings(ORMA_PARTNER_RATE_LIMIT="2/minute")
    def test_one_partner_over_its_limit_does_not_limit_another(self, api, anon, department):
        from tenancy.tests.factories import GrantFactory, PartnerFactory

        other = PartnerFactory()
        GrantFactory(partner=other, department=department)
        for _ in range(3):
            api.get(probe_url(department))

        assert get_with(anon, department, basic_auth(other.username, other.secret)).status_code == 200
