"""The subscriptions API (``/notification/v1/subscription`` …, DESIGN §7, issue 10 point 1): every
operation's success and each of its errors, the grant rule, the secret shown once, rotation, ping, recovery,
tenancy, query counts.

URLs use public IPv4 literals, so no test needs a resolver; the SSRF rules themselves are test_ssrf's.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from django.utils import timezone
from freezegun import freeze_time
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications import transport
from notifications.models import Delivery, DeliveryStatus, Subscription, SubscriptionNotice
from notifications.signing import signature_header
from tenancy.choices import Scope
from tenancy.tests.factories import DepartmentFactory, GrantFactory, PartnerFactory, partner_on
from tests.clients import client_for

from .factories import ALL_EVENT_TYPES, DeliveryAttemptFactory, DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

BASE = "/notification/v1"
CID = "notification-test"
URL = "https://93.184.215.14/orma-hooks"


@pytest.fixture(autouse=True)
def _strict_ssrf(settings):
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = False


def body(department, **changes):
    return {
        "url": URL,
        "eventTypes": ["order.created", "order.dms_rejected"],
        "departments": [str(department.uuid)],
        "payload": "thin",
        **changes,
    }


def create(api, department, **changes):
    return api.post(f"{BASE}/subscription", body(department, **changes), format="json")


def details(response):
    return {detail["field"]: detail for detail in response.json()["details"]}


def sub_url(subscription, action=""):
    identifier = subscription.uuid if isinstance(subscription, Subscription) else subscription
    return f"{BASE}/subscription/{identifier}" + (f"/{action}" if action else "")


class TestCreate:
    def test_it_answers_201_with_the_subscription_and_its_secret_once(self, api, partner, department):
        response = create(api, department)

        assert response.status_code == 201, response.content
        answer = response.json()
        subscription = Subscription.objects.get(uuid=answer["id"])
        assert answer["secret"] == subscription.secret
        assert answer["secret"].startswith("whsec_") and len(base64.b64decode(answer["secret"][6:])) >= 24
        assert answer["url"] == URL
        assert answer["eventTypes"] == ["order.created", "order.dms_rejected"]
        assert answer["departments"] == [str(department.uuid)]
        assert answer["payload"] == "thin"
        assert answer["enabled"] is True
        assert answer["disabledAt"] is None and answer["previousSecretValidUntil"] is None
        assert response["Location"].endswith(f"/notification/v1/subscription/{answer['id']}")
        assert subscription.partner_id == partner.id
        assert list(subscription.notices.values_list("kind", flat=True)) == ["CREATED"]

    def test_the_secret_is_never_shown_again(self, api, department):
        created = create(api, department).json()

        read = api.get(sub_url(created["id"]))
        listed = api.get(f"{BASE}/subscription")
        patched = api.patch(sub_url(created["id"]), {"payload": "full"}, format="json")

        for response in (read, listed, patched):
            assert response.status_code == 200
            assert created["secret"] not in response.content.decode()
            assert "secret" not in json.dumps(response.json()).replace("previousSecretValidUntil", "")

    def test_the_payload_defaults_to_full_and_repeats_are_meant_once(self, api, department):
        answer = create(
            api,
            department,
            payload=None,
            eventTypes=["order.created", "order.created"],
            departments=[str(department.uuid)] * 2,
        )
        assert answer.status_code == 400  # null is not a payload form: leave it out instead
        twice = {"eventTypes": ["order.created", "order.created"], "departments": [str(department.uuid)] * 2}
        request = body(department, **twice)
        del request["payload"]

        answer = api.post(f"{BASE}/subscription", request, format="json").json()

        assert answer["payload"] == "full"
        assert answer["eventTypes"] == ["order.created"]
        assert answer["departments"] == [str(department.uuid)]

    def test_every_problem_is_reported_at_once(self, api, department):
        foreign = DepartmentFactory()

        response = create(
            api,
            department,
            url="http://10.0.0.1/hook",
            eventTypes=["order.created", "order.deleted"],
            departments=[str(department.uuid), str(foreign.uuid)],
            payload="fat",
            colour="blue",
        )

        assert response.status_code == 400
        found = details(response)
        assert set(found) == {"url", "eventTypes[1]", "departments[1]", "payload", "colour"}
        assert found["url"]["value"] == "http://10.0.0.1/hook"
        assert "https" in found["url"]["issue"]
        assert found["eventTypes[1]"]["value"] == "order.deleted"
        assert found["departments[1]"]["value"] == str(foreign.uuid)
        assert "unknown field" in found["colour"]["issue"]
        assert response.json()["message"] == "Invalid request"
        assert not Subscription.objects.exists()

    def test_the_rules_run_beside_shape_errors(self, api, department):
        response = create(api, department, url="https://10.0.0.1/hook", eventTypes="order.created")

        assert response.status_code == 400
        assert set(details(response)) == {"url", "eventTypes"}
        assert "private address" in details(response)["url"]["issue"]

    def test_required_fields_and_empty_lists(self, api, department):
        missing = api.post(f"{BASE}/subscription", {}, format="json")
        empty = create(api, department, eventTypes=[], departments=[])

        assert missing.status_code == empty.status_code == 400
        assert {d["field"]: d["issue"] for d in missing.json()["details"]} == {
            "url": "url: This field is required.",
            "eventTypes": "eventTypes: This field is required.",
            "departments": "departments: This field is required.",
        }
        assert set(details(empty)) == {"eventTypes", "departments"}

    def test_ping_is_not_an_event_type_one_subscribes_to(self, api, department):
        response = create(api, department, eventTypes=["ping"])

        assert response.status_code == 400
        assert set(details(response)) == {"eventTypes[0]"}

    @pytest.mark.parametrize(
        "url",
        ["https://127.0.0.1/", "https://[::1]/", "https://2130706433/", "https://169.254.169.254/", "ftp://x/"],
    )
    def test_the_url_is_checked_against_ssrf(self, api, department, url):
        response = create(api, department, url=url)

        assert response.status_code == 400
        assert set(details(response)) == {"url"}

    def test_a_url_longer_than_2000_characters_is_refused(self, api, department):
        response = create(api, department, url=URL + "/" + "a" * 2000)

        assert response.status_code == 400
        assert set(details(response)) == {"url"}

    def test_allow_private_allows_http_to_loopback(self, api, department, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True

        assert create(api, department, url="http://127.0.0.1:9000/hook").status_code == 201

    @pytest.mark.parametrize("payload", [[1, 2], "text", 3])
    def test_a_body_that_is_no_object_is_400(self, api, payload):
        response = api.post(f"{BASE}/subscription", payload, format="json")

        assert response.status_code == 400
        assert response.json()["details"][0]["issue"] == "The request body must be a JSON object."

    def test_malformed_json_is_400(self, api):
        response = api.post(f"{BASE}/subscription", b"{", content_type="application/json")

        assert response.status_code == 400

    def test_it_runs_a_constant_number_of_queries(self, api, django_assert_max_num_queries):
        partner = PartnerFactory()
        departments = [GrantFactory(partner=partner).department for _ in range(5)]
        client = client_for(partner)

        with django_assert_max_num_queries(10):
            response = client.post(
                f"{BASE}/subscription",
                {"url": URL, "eventTypes": ALL_EVENT_TYPES, "departments": [str(d.uuid) for d in departments]},
                format="json",
            )

        assert response.status_code == 201


class TestGrantRule:
    def test_a_department_held_without_notification_manage_is_refused(self, department):
        other = DepartmentFactory(dealer=department.dealer)
        partner = partner_on(department)
        GrantFactory(partner=partner, department=other, scopes=[Scope.ORDER_READ])

        response = create(client_for(partner), department, departments=[str(department.uuid), str(other.uuid)])

        assert response.status_code == 400
        assert details(response)["departments[1]"]["issue"] == (
            f"departments[1]: {other.uuid} is not a department this partner holds notification.manage on"
        )

    def test_another_dealers_department_reads_like_a_missing_one(self, api, department):
        foreign, missing = DepartmentFactory(), uuid.uuid4()

        refused = create(api, department, departments=[str(foreign.uuid)])
        unknown = create(api, department, departments=[str(missing)])

        assert refused.status_code == unknown.status_code == 400
        assert details(refused)["departments[0]"]["issue"].replace(str(foreign.uuid), "X") == details(unknown)[
            "departments[0]"
        ]["issue"].replace(str(missing), "X")

    def test_a_department_in_another_dealers_grant_of_the_same_partner_is_fine(self, partner, department):
        second = GrantFactory(partner=partner).department  # another dealer, every scope

        response = create(client_for(partner), department, departments=[str(department.uuid), str(second.uuid)])

        assert response.status_code == 201
        assert set(response.json()["departments"]) == {str(department.uuid), str(second.uuid)}


class TestAccess:
    def test_401_without_credentials(self, anon):
        response = anon.get(f"{BASE}/subscription", HTTP_X_CORRELATION_ID=CID)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="OrMa"'
        assert response.json()["correlationId"] == CID

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "subscription"),
            ("post", "subscription"),
            ("get", "subscription/{id}"),
            ("patch", "subscription/{id}"),
            ("delete", "subscription/{id}"),
            ("post", "subscription/{id}/ping"),
            ("post", "subscription/{id}/rotate-secret"),
            ("post", "subscription/{id}/recover"),
            ("get", "delivery"),
            ("get", "delivery/{id}"),
            ("post", "delivery/{id}/redeliver"),
        ],
    )
    def test_every_operation_answers_401_without_credentials(self, anon, method, path, db):
        response = getattr(anon, method)(f"{BASE}/" + path.format(id=uuid.uuid4()), {}, format="json")

        assert response.status_code == 401
        assert set(response.json()) == {"correlationId", "message", "details", "links"}

    def test_403_without_notification_manage_on_any_department(self, department):
        client = client_for(partner_on(department, scopes=[Scope.ORDER_READ, Scope.ORDER_CREATE]))

        for response in (
            client.get(f"{BASE}/subscription"),
            client.post(f"{BASE}/subscription", body(department), format="json"),
            client.get(f"{BASE}/delivery"),
        ):
            assert response.status_code == 403
            assert response.json()["message"] == (
                "The partner lacks the scope notification.manage on any department; ask the dealer for a grant with it."
            )
        assert not Subscription.objects.exists()

    def test_404_for_another_partners_subscription_is_byte_identical_to_a_missing_one(self, api, department):
        foreign = SubscriptionFactory()
        DeliveryFactory(subscription=foreign, failed=True)
        operations = [
            ("get", "", None),
            ("patch", "", {"enabled": False}),
            ("delete", "", None),
            ("post", "ping", None),
            ("post", "rotate-secret", None),
            ("post", "recover", {"since": "2020-01-01T00:00:00Z"}),
        ]
        for method, action, data in operations:
            answers = [
                getattr(api, method)(sub_url(identifier, action), data, format="json", HTTP_X_CORRELATION_ID=CID)
                for identifier in (foreign.uuid, uuid.uuid4(), "not-a-uuid")
            ]
            assert {answer.status_code for answer in answers} == {404}, (method, action)
            assert len({answer.content for answer in answers}) == 1, (method, action)
            assert answers[0].json() == {
                "correlationId": CID,
                "message": "The requested resource was not found.",
                "details": [{"field": "", "value": "", "issue": "The requested resource was not found."}],
                "links": [],
            }
        foreign.refresh_from_db()
        assert foreign.enabled and not foreign.previous_secret
        assert foreign.deliveries.get().status == DeliveryStatus.FAILED

    def test_the_list_holds_only_the_partners_own(self, api, partner, department):
        own = SubscriptionFactory(partner=partner, departments=[department])
        SubscriptionFactory()

        listed = api.get(f"{BASE}/subscription").json()

        assert [row["id"] for row in listed["results"]] == [str(own.uuid)]

    def test_429_past_the_partners_rate_limit(self, api, settings):
        settings.ORMA_PARTNER_RATE_LIMIT = "2/minute"

        answers = [api.get(f"{BASE}/subscription", HTTP_X_CORRELATION_ID=CID) for _ in range(3)]

        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert int(answers[2]["Retry-After"]) >= 1
        assert answers[2].json()["correlationId"] == CID
        assert answers[2].json()["details"][0]["field"] == ""

    def test_an_unknown_query_parameter_is_refused(self, api):
        response = api.get(f"{BASE}/subscription?stauts=1")

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "stauts"

    @pytest.mark.schema_exempt(reason="sends a method that is no operation of the path, which no schema can describe")
    def test_an_unsupported_method_is_405_in_seed_002s_shape(self, api):
        response = api.put(f"{BASE}/subscription", {}, format="json")

        assert response.status_code == 405
        assert set(response.json()) == {"correlationId", "message", "details", "links"}


class TestReadAndList:
    def test_it_shows_the_log_newest_first_bounded(self, api, partner, department):
        subscription = SubscriptionFactory(partner=partner, departments=[department])
        start = timezone.now() - dt.timedelta(hours=1)
        for minute in range(25):
            SubscriptionNotice.objects.create(
                subscription=subscription, kind="UPDATED", message=f"n{minute}", at=start + dt.timedelta(minutes=minute)
            )

        answer = api.get(sub_url(subscription)).json()

        assert len(answer["log"]) == 20
        assert answer["log"][0]["message"] == "n24"
        assert answer["log"][-1]["message"] == "n5"

    def test_the_list_is_paginated_oldest_first(self, api, partner, department):
        subscriptions = [SubscriptionFactory(partner=partner, departments=[department]) for _ in range(5)]

        first = api.get(f"{BASE}/subscription?limit=2").json()
        second = api.get(first["next"]).json()
        third = api.get(second["next"]).json()

        seen = [row["id"] for page in (first, second, third) for row in page["results"]]
        assert seen == [str(s.uuid) for s in subscriptions]
        assert third["next"] is None

    @pytest.mark.parametrize("query", ["limit=0", "limit=201", "cursor=forged", "limit=x"])
    def test_bad_page_parameters_are_400(self, api, query):
        assert api.get(f"{BASE}/subscription?{query}").status_code == 400

    def test_the_list_runs_a_constant_number_of_queries(self, api, partner, department, django_assert_max_num_queries):
        for _ in range(30):
            SubscriptionFactory(partner=partner, departments=[department, DepartmentFactory()])

        with django_assert_max_num_queries(4):
            response = api.get(f"{BASE}/subscription?limit=200")

        assert len(response.json()["results"]) == 30

    def test_read_runs_a_constant_number_of_queries(self, api, partner, department, django_assert_max_num_queries):
        subscription = SubscriptionFactory(partner=partner, departments=[department])

        with django_assert_max_num_queries(5):
            assert api.get(sub_url(subscription)).status_code == 200


class TestUpdate:
    @pytest.fixture
    def subscription(self, partner, department):
        return SubscriptionFactory(partner=partner, departments=[department], event_types=["order.created"])

    def test_it_changes_what_is_given_and_logs_it(self, api, subscription, department):
        response = api.patch(
            sub_url(subscription),
            {"url": "https://1.1.1.1/new", "eventTypes": ["parts_order.created"], "payload": "thin"},
            format="json",
        )

        assert response.status_code == 200, response.content
        answer = response.json()
        assert (answer["url"], answer["eventTypes"], answer["payload"]) == (
            "https://1.1.1.1/new",
            ["parts_order.created"],
            "thin",
        )
        assert answer["departments"] == [str(department.uuid)]
        assert answer["log"][0]["kind"] == "UPDATED"
        assert answer["log"][0]["message"] == "changed: url, eventTypes, payload"

    def test_disabling_and_enabling(self, api, subscription):
        subscription.failing_since = timezone.now() - dt.timedelta(days=2)
        subscription.save()

        disabled = api.patch(sub_url(subscription), {"enabled": False}, format="json").json()
        enabled = api.patch(sub_url(subscription), {"enabled": True}, format="json").json()

        assert disabled["enabled"] is False and disabled["disabledAt"] is not None
        assert disabled["disabledReason"] == "disabled by the partner"
        assert disabled["log"][0]["kind"] == "DISABLED_BY_PARTNER"
        assert enabled["enabled"] is True
        assert enabled["disabledAt"] is None and enabled["disabledReason"] is None
        assert enabled["failingSince"] is None  # the failure clock starts again
        assert [n["kind"] for n in enabled["log"][:2]] == ["ENABLED", "DISABLED_BY_PARTNER"]

    def test_enabling_one_disabled_by_orma_clears_its_flag(self, api, subscription):
        Subscription.objects.filter(pk=subscription.pk).update(
            enabled=False, disabled_at=timezone.now(), disabled_reason="the endpoint answered 410 Gone"
        )

        answer = api.patch(sub_url(subscription), {"enabled": True}, format="json").json()

        assert answer["enabled"] is True and answer["disabledReason"] is None
        assert answer["log"][0]["kind"] == "ENABLED"

    def test_a_repeat_changes_and_logs_nothing(self, api, subscription):
        api.patch(sub_url(subscription), {"enabled": True, "eventTypes": ["order.created"]}, format="json")

        assert not subscription.notices.exists()

    def test_a_refused_patch_changes_nothing(self, api, subscription):
        before = Subscription.objects.values().get(pk=subscription.pk)

        response = api.patch(
            sub_url(subscription),
            {"eventTypes": ["order.updated"], "url": "https://[fc00::1]/", "enabled": "yes", "secret": "mine"},
            format="json",
        )

        assert response.status_code == 400
        assert set(details(response)) == {"url", "enabled", "secret"}
        assert Subscription.objects.values().get(pk=subscription.pk) == before
        assert not subscription.notices.exists()

    def test_departments_follow_the_grant_rule(self, api, subscription, partner):
        second = GrantFactory(partner=partner).department
        foreign = DepartmentFactory()

        refused = api.patch(sub_url(subscription), {"departments": [str(foreign.uuid)]}, format="json")
        moved = api.patch(sub_url(subscription), {"departments": [str(second.uuid)]}, format="json")

        assert refused.status_code == 400 and set(details(refused)) == {"departments[0]"}
        assert moved.json()["departments"] == [str(second.uuid)]

    @pytest.mark.parametrize("change", [{"eventTypes": []}, {"departments": []}, {"url": None}, {"payload": "xml"}])
    def test_empty_or_null_settings_are_refused(self, api, subscription, change):
        assert api.patch(sub_url(subscription), change, format="json").status_code == 400

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        with django_assert_max_num_queries(13):
            response = api.patch(sub_url(subscription), {"enabled": False, "payload": "thin"}, format="json")

        assert response.status_code == 200


class TestDelete:
    def test_it_deletes_the_subscription_with_its_log(self, api, partner, department):
        subscription = SubscriptionFactory(partner=partner, departments=[department])
        DeliveryAttemptFactory(delivery=DeliveryFactory(subscription=subscription))

        response = api.delete(sub_url(subscription))

        assert response.status_code == 204 and response.content == b""
        assert api.get(sub_url(subscription)).status_code == 404
        assert not Delivery.objects.exists()

    def test_it_runs_a_constant_number_of_queries(self, api, partner, department, django_assert_max_num_queries):
        subscription = SubscriptionFactory(partner=partner, departments=[department])
        for _ in range(10):
            DeliveryAttemptFactory(delivery=DeliveryFactory(subscription=subscription))

        with django_assert_max_num_queries(13):  # Django's cascade: one select and one delete per related table
            assert api.delete(sub_url(subscription)).status_code == 204


class TestRotateSecret:
    @pytest.fixture
    def subscription(self, partner, department):
        return SubscriptionFactory(partner=partner, departments=[department])

    def test_it_answers_a_new_secret_and_keeps_the_old_one_signing_for_the_overlap(self, api, subscription, settings):
        settings.ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS = 24
        old = subscription.secret

        with freeze_time("2025-03-01T08:00:00Z"):
            response = api.post(sub_url(subscription, "rotate-secret"))

        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["id"] == str(subscription.uuid)
        assert answer["secret"].startswith("whsec_") and answer["secret"] != old
        assert answer["previousSecretValidUntil"] == "2025-03-02T08:00:00.000Z"
        subscription.refresh_from_db()
        assert (subscription.secret, subscription.previous_secret) == (answer["secret"], old)
        assert subscription.notices.get().kind == "SECRET_ROTATED"

    def test_during_the_overlap_a_delivery_verifies_with_the_old_and_the_new_secret(self, api, subscription):
        old = subscription.secret
        new = api.post(sub_url(subscription, "rotate-secret")).json()["secret"]
        subscription.refresh_from_db()
        message_id, now, payload = "msg_" + uuid.uuid4().hex, timezone.now(), b'{"type": "ping"}'

        # signed as the transport signs: every secret in use now
        secrets = transport.secrets_in_use(subscription, now)
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature_header(secrets, message_id, int(now.timestamp()), payload),
        }

        assert secrets == [new, old]
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            assert Webhook(secret).verify(payload, headers) == {"type": "ping"}
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(payload, headers)

    def test_after_the_overlap_only_the_new_secret_signs(self, api, subscription, settings):
        settings.ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS = 1
        with freeze_time("2025-03-01T08:00:00Z"):
            new = api.post(sub_url(subscription, "rotate-secret")).json()["secret"]
        subscription.refresh_from_db()

        with freeze_time("2025-03-01T08:59:59Z"):
            inside = transport.secrets_in_use(subscription, timezone.now())
        with freeze_time("2025-03-01T09:00:00Z"):
            after = transport.secrets_in_use(subscription, timezone.now())
            shown = api.get(sub_url(subscription)).json()["previousSecretValidUntil"]

        assert len(inside) == 2
        assert after == [new]
        assert shown is None

    def test_a_second_rotation_within_the_overlap_drops_the_oldest_secret(self, api, subscription):
        first = subscription.secret
        second = api.post(sub_url(subscription, "rotate-secret")).json()["secret"]

        third = api.post(sub_url(subscription, "rotate-secret")).json()["secret"]

        subscription.refresh_from_db()
        assert (subscription.secret, subscription.previous_secret) == (third, second)
        assert first not in transport.secrets_in_use(subscription, timezone.now())
        assert "no longer signs" in subscription.notices.first().message

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        with django_assert_max_num_queries(9):
            assert api.post(sub_url(subscription, "rotate-secret")).status_code == 200

    def test_a_body_with_fields_is_refused(self, api, subscription):
        response = api.post(sub_url(subscription, "rotate-secret"), {"secret": "mine"}, format="json")

        assert response.status_code == 400
        assert set(details(response)) == {"secret"}
        subscription.refresh_from_db()
        assert not subscription.previous_secret


class TestPing:
    @pytest.fixture
    def subscription(self, partner, department):
        return SubscriptionFactory(partner=partner, departments=[department], event_types=["order.created"])

    def test_it_answers_202_with_the_pings_delivery(self, api, subscription):
        response = api.post(sub_url(subscription, "ping"))

        assert response.status_code == 202, response.content
        answer = response.json()
        delivery = Delivery.objects.get(uuid=answer["deliveryId"])
        assert answer["webhookId"] == delivery.webhook_id == f"msg_{delivery.uuid.hex}"
        assert (delivery.subscription_id, delivery.event_type, delivery.status) == (subscription.pk, "ping", "PENDING")
        assert delivery.event.department_id is None
        assert delivery.event.data["subscriptionId"] == str(subscription.uuid)

    def test_a_disabled_subscription_is_pinged_too(self, api, subscription):
        Subscription.objects.filter(pk=subscription.pk).update(enabled=False, disabled_at=timezone.now())

        assert api.post(sub_url(subscription, "ping")).status_code == 202

    def test_each_ping_is_its_own_object_so_none_waits_behind_another(self, api, subscription):
        first = api.post(sub_url(subscription, "ping")).json()["deliveryId"]
        second = api.post(sub_url(subscription, "ping")).json()["deliveryId"]

        keys = set(Delivery.objects.filter(uuid__in=[first, second]).values_list("subject_key", flat=True))
        assert len(keys) == 2

    def test_only_this_subscription_gets_it(self, api, subscription, partner, department):
        SubscriptionFactory(partner=partner, departments=[department])

        api.post(sub_url(subscription, "ping"))

        assert list(Delivery.objects.values_list("subscription_id", flat=True)) == [subscription.pk]

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        with django_assert_max_num_queries(9):
            assert api.post(sub_url(subscription, "ping"), {}, format="json").status_code == 202


class TestRecover:
    @pytest.fixture
    def subscription(self, partner, department):
        return SubscriptionFactory(partner=partner, departments=[department])

    def _at(self, delivery, when):
        Delivery.objects.filter(pk=delivery.pk).update(created_at=when)
        return delivery

    def test_it_requeues_the_failed_deliveries_since_then_and_counts_them(self, api, subscription):
        since = timezone.now() - dt.timedelta(hours=2)
        failed = [self._at(DeliveryFactory(subscription=subscription, failed=True), since) for _ in range(3)]
        self._at(DeliveryFactory(subscription=subscription, failed=True), since - dt.timedelta(seconds=1))
        DeliveryFactory(subscription=subscription, delivered=True)
        DeliveryFactory(failed=True)  # another subscription's

        response = api.post(sub_url(subscription, "recover"), {"since": since.isoformat()}, format="json")

        assert response.status_code == 202, response.content
        assert response.json() == {"queued": 3}
        requeued = Delivery.objects.filter(pk__in=[d.pk for d in failed])
        assert set(requeued.values_list("status", flat=True)) == {"PENDING"}
        assert sorted(requeued.values_list("uuid", flat=True)) == sorted(d.uuid for d in failed)  # same webhook-ids
        assert Delivery.objects.filter(status="FAILED").count() == 2

    def test_a_naive_instant_is_utc_and_z_is_understood(self, api, subscription):
        self._at(DeliveryFactory(subscription=subscription, failed=True), dt.datetime(2025, 3, 1, 8, tzinfo=dt.UTC))

        naive = api.post(sub_url(subscription, "recover"), {"since": "2025-03-01T08:00:01"}, format="json")
        zulu = api.post(sub_url(subscription, "recover"), {"since": "2025-03-01T08:00:00Z"}, format="json")

        assert (naive.json(), zulu.json()) == ({"queued": 0}, {"queued": 1})

    @pytest.mark.parametrize(
        "payload", [{}, {"since": "yesterday"}, {"since": 20250301}, {"since": "2025-03-01T08:00:00Z", "until": "x"}]
    )
    def test_a_bad_body_is_400(self, api, subscription, payload):
        response = api.post(sub_url(subscription, "recover"), payload, format="json")

        assert response.status_code == 400
        assert set(details(response)) <= {"since", "until"}

    def test_a_disabled_subscription_answers_409(self, api, subscription):
        DeliveryFactory(subscription=subscription, failed=True)
        Subscription.objects.filter(pk=subscription.pk).update(enabled=False)

        response = api.post(sub_url(subscription, "recover"), {"since": "2020-01-01T00:00:00Z"}, format="json")

        assert response.status_code == 409
        assert "disabled" in response.json()["message"]
        assert Delivery.objects.get().status == "FAILED"

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        for _ in range(20):
            DeliveryFactory(subscription=subscription, failed=True)

        with django_assert_max_num_queries(8):
            response = api.post(sub_url(subscription, "recover"), {"since": "2020-01-01T00:00:00Z"}, format="json")

        assert response.json() == {"queued": 20}
