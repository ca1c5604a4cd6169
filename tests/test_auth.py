"""Partner authentication: every malformed and wrong credential, rotation, lockout, rate limit."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from freezegun import freeze_time

from orma.crypto import cache_key_part
from tenancy.models import Grant, Partner
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


# --- the partner's access, cached with its credentials (issue 12) ------------------------------------------


def parts_probe_url(department) -> str:
    return f"/parts-api/{department.dealer.uuid}/{department.uuid}/v1/probe"


@pytest.fixture(
    params=["files", pytest.param("redis", marks=pytest.mark.redis)],
)
def each_cache(request, settings, tmp_path):
    """The embedded default's file cache, and Redis (as CI configures it): the same answers from both."""
    if request.param == "files":
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
        }
    from django.core.cache import cache

    cache.clear()
    return request.param


class TestCachedAccess:
    """The grant on the path's department comes with the credentials from the one cache round trip; any
    change to the partner, its grants or the department's rows is effective on the very next request."""

    def test_a_warm_request_on_a_department_runs_no_query(
        self, each_cache, api, department, partner, django_assert_num_queries
    ):
        assert api.get(probe_url(department)).status_code == 200  # credentials and grant now cached

        with django_assert_num_queries(0):
            response = api.get(probe_url(department))

        assert response.status_code == 200
        assert response.json() == {"department": str(department.uuid), "partner": partner.username}

    def test_a_warm_request_on_a_store_runs_no_query(self, each_cache, api, department, django_assert_num_queries):
        assert api.get(parts_probe_url(department)).status_code == 200

        with django_assert_num_queries(0):
            assert api.get(parts_probe_url(department)).json() == {"store": str(department.uuid)}

    def test_a_cached_grant_is_not_good_under_another_dealer(self, each_cache, api, department):
        from tenancy.tests.factories import DealerFactory

        assert api.get(parts_probe_url(department)).status_code == 200
        foreign = f"/parts-api/{DealerFactory().uuid}/{department.uuid}/v1/probe"

        assert api.get(foreign).status_code == 404

    def test_a_warm_request_without_a_department_runs_no_query(self, each_cache, api, django_assert_num_queries):
        assert api.get("/notification/v1/probe").status_code == 200

        with django_assert_num_queries(0):
            assert api.get("/notification/v1/probe").status_code == 200

    def test_the_grant_the_view_gets_from_the_cache_is_the_one_from_the_database(self, each_cache, department, partner):
        from tenancy.selectors import grant_from_json, grant_get, grant_to_json

        stored = grant_get(partner_id=partner.id, department_uuid=department.uuid)
        cached = grant_from_json(json.loads(json.dumps(grant_to_json(stored))))  # the trip through the cache

        for model_pair in [(stored, cached), (stored.department, cached.department)]:
            for field in model_pair[0]._meta.concrete_fields:
                assert getattr(model_pair[1], field.attname) == getattr(model_pair[0], field.attname), field.name
        dealer, cached_dealer = stored.department.dealer, cached.department.dealer
        for field in dealer._meta.concrete_fields:
            if field.attname != "dms_password":
                assert getattr(cached_dealer, field.attname) == getattr(dealer, field.attname), field.name
        assert cached_dealer.get_deferred_fields() == {"dms_password"}  # never in the cache; read if ever used
        assert cached.department.dealer_id == dealer.id and cached.partner_id == partner.id

    def test_a_revoked_grant_is_refused_on_the_next_request(self, each_cache, api, department, partner):
        assert api.get(probe_url(department)).status_code == 200
        Grant.objects.get(partner=partner, department=department).delete()

        assert api.get(probe_url(department)).status_code == 404
        assert api.get(parts_probe_url(department)).status_code == 404

    def test_a_grant_revoked_by_a_queryset_delete_is_refused_on_the_next_request(
        self, each_cache, api, department, partner
    ):
        assert api.get(probe_url(department)).status_code == 200
        Grant.objects.filter(partner=partner).delete()  # the admin's bulk delete: signals per row

        assert api.get(probe_url(department)).status_code == 404

    def test_a_scope_taken_away_is_refused_on_the_next_request(self, each_cache, api, department, partner):
        assert api.get(probe_url(department)).status_code == 200
        assert api.get("/notification/v1/probe").status_code == 200
        grant = Grant.objects.get(partner=partner, department=department)
        grant.scopes = ["order.create"]
        grant.save()

        assert api.get(probe_url(department)).status_code == 403
        assert api.get("/notification/v1/probe").status_code == 403

    def test_a_new_grant_is_effective_on_the_next_request(self, each_cache, api, department, partner):
        from tenancy.services import GrantSpec, grant_set
        from tenancy.tests.factories import DepartmentFactory

        other = DepartmentFactory()
        assert api.get(probe_url(other)).status_code == 404
        grant_set(partner=partner, grants=[GrantSpec(other.uuid, ("order.read",))])

        assert api.get(probe_url(other)).status_code == 200

    def test_a_deactivated_partner_is_refused_on_the_next_request(self, each_cache, api, department, partner):
        assert api.get(probe_url(department)).status_code == 200
        partner.is_active = False
        partner.save()

        assert api.get(probe_url(department)).status_code == 401

    def test_a_username_cached_as_unknown_works_once_a_partner_has_it(self, each_cache, anon, department):
        from tenancy.services import GrantSpec, partner_create

        assert get_with(anon, department, basic_auth("newcomer", "x" * 43)).status_code == 401  # cached: absent
        _, secret = partner_create(
            name="Newcomer", username="newcomer", grants=[GrantSpec(department.uuid, ("order.read",))]
        )

        assert get_with(anon, department, basic_auth("newcomer", secret)).status_code == 200

    def test_a_renamed_partner_is_refused_under_its_old_username(self, each_cache, api, anon, department, partner):
        assert api.get(probe_url(department)).status_code == 200  # cached under the old username
        partner.username = f"{partner.username}-renamed"
        partner.save()

        assert api.get(probe_url(department)).status_code == 401
        renamed = get_with(anon, department, basic_auth(partner.username, partner.secret))
        assert renamed.status_code == 200

    def test_a_rotated_secret_is_refused_once_its_grace_ends(self, each_cache, anon, department, partner):
        old = basic_auth(partner.username, partner.secret)
        _, new, valid_until = partner_rotate_secret(username=partner.username, grace_hours=1)
        assert get_with(anon, department, old).status_code == 200  # cached, with the previous secret's end

        with freeze_time(valid_until + timedelta(seconds=1)):
            assert get_with(anon, department, old).status_code == 401
            assert get_with(anon, department, basic_auth(partner.username, new)).status_code == 200

    def test_a_secret_rotated_without_grace_is_refused_on_the_next_request(self, each_cache, anon, department, partner):
        old = basic_auth(partner.username, partner.secret)
        assert get_with(anon, department, old).status_code == 200
        partner_rotate_secret(username=partner.username)

        assert get_with(anon, department, old).status_code == 401

    def test_a_department_moved_to_another_dealer_is_seen_on_the_next_request(
        self, each_cache, api, department, partner
    ):
        from tenancy.tests.factories import DealerFactory

        assert api.get(parts_probe_url(department)).status_code == 200
        old_url = parts_probe_url(department)
        department.dealer = DealerFactory()
        department.save()

        assert api.get(old_url).status_code == 404
        assert api.get(parts_probe_url(department)).status_code == 200

    def test_a_dealer_change_reaches_the_cached_grant(self, each_cache, department, partner):
        from tenancy.selectors import grant_get_cached, partner_generation

        credentials = credentials_of(partner)
        generation = partner_generation(username=partner.username, seen=None)
        first = grant_get_cached(
            partner=credentials, department_uuid=department.uuid, dealer_uuid=None, cached=None, generation=generation
        )
        cached = cached_entries(partner, department)
        assert cached[1]["value"]["dealer"]["name"] == department.dealer.name
        dealer = first.department.dealer
        dealer.name = "Renamed"
        dealer.save()

        entries = cached_entries(partner, department)
        again = grant_get_cached(
            partner=credentials,
            department_uuid=department.uuid,
            dealer_uuid=None,
            cached=entries[1],
            generation=entries[0],
        )
        assert again.department.dealer.name == "Renamed"

    def test_rows_loaded_before_a_write_committed_are_never_used(self, each_cache, department, partner):
        """A request read the generation, then the rows as they were; the write committed and renewed the
        generation; then the request cached what it had read. The next request must not use it."""
        from tenancy.selectors import (
            STALE,
            cached_value,
            partner_credentials_cache_key,
            partner_credentials_load,
            partner_generation,
        )
        from tenancy.services import partner_access_evict

        seen = partner_generation(username=partner.username, seen=None)  # the slow request's round trip
        partner_access_evict(usernames={partner.username})  # the write's commit (here: at once)
        partner_credentials_load(username=partner.username, generation=seen)  # the slow request caches

        from orma.cache import get_json

        current = get_json(f"partner-generation:{cache_key_part(partner.username)}")
        assert current != seen
        assert cached_value(get_json(partner_credentials_cache_key(partner.username)), current) is STALE

    def test_the_access_of_other_partners_stays_cached(
        self, each_cache, api, department, partner, django_assert_num_queries
    ):
        from tenancy.tests.factories import GrantFactory, PartnerFactory

        assert api.get(probe_url(department)).status_code == 200
        other = PartnerFactory()
        GrantFactory(partner=other, department=department)

        with django_assert_num_queries(0):
            assert api.get(probe_url(department)).status_code == 200

    def test_a_change_commits_before_the_next_request_is_refused(
        self, each_cache, api, department, partner, django_capture_on_commit_callbacks
    ):
        """The on-commit renewal runs too (and alone would suffice for requests after the commit)."""
        assert api.get(probe_url(department)).status_code == 200
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            Grant.objects.get(partner=partner, department=department).delete()

        # the partner's renewal (tenancy.services.partner_access_evict) and the announcement that the
        # department's webhook subscribers may have changed (notifications.delivery.subscribers_changed)
        assert len(callbacks) == 2
        assert api.get(probe_url(department)).status_code == 404


def credentials_of(partner):
    from tenancy.selectors import PartnerCredentials

    return PartnerCredentials(
        partner.id, partner.uuid, partner.username, partner.name, partner.secret_hash, "", None, None
    )


def cached_entries(partner, department):
    from orma.cache import get_json
    from tenancy.selectors import partner_generation_cache_key, partner_grant_cache_key

    return (
        get_json(partner_generation_cache_key(partner.username)),
        get_json(partner_grant_cache_key(partner.username, str(department.uuid))),
    )
