"""Who hears of a department's events, held per process (notifications.delivery._department_subscribers on
orma.nearcache): a warm create asks no query for it, and every change of who hears is seen by the next event."""

from __future__ import annotations

import secrets
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from notifications.delivery import SUBSCRIBERS_TAG, _department_subscribers, subscription_disable
from notifications.models import Delivery, SubscriptionNotice
from notifications.tests.test_receivers import create, customer, subscribe  # noqa: F401  (customer: a fixture)
from orma import nearcache
from orma.cache import redis_client
from tenancy.models import Grant

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def subscriber_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "notifications_subscription_departments" in q["sql"]]


def test_a_warm_create_asks_nothing_about_subscribers(api, department, customer):  # noqa: F811
    create(api, department, customer, number="RO-1")  # the department's (empty) subscribers are now held

    with CaptureQueriesContext(connection) as queries:
        create(api, department, customer, number="RO-2")

    assert subscriber_queries(queries) == []


def test_a_new_subscription_hears_the_very_next_event(api, partner, department, customer):  # noqa: F811
    create(api, department, customer, number="RO-1")
    subscription = subscribe(partner, department)

    create(api, department, customer, number="RO-2")

    assert Delivery.objects.filter(subscription=subscription).count() == 1


def test_a_disabled_subscription_hears_nothing_more(api, partner, department, customer):  # noqa: F811
    subscription = subscribe(partner, department)
    create(api, department, customer, number="RO-1")
    subscription_disable(  # a bulk update (no signal), as a 410 does it
        subscription_id=subscription.pk, kind=SubscriptionNotice.Kind.DISABLED_GONE, reason="410 Gone"
    )

    create(api, department, customer, number="RO-2")

    assert Delivery.objects.filter(subscription=subscription).count() == 1  # RO-1's only


def test_a_revoked_grant_hears_nothing_more(api, partner, department, customer):  # noqa: F811
    subscription = subscribe(partner, department)
    create(api, department, customer, number="RO-1")
    grant = Grant.objects.get(partner=partner, department=department)
    grant.scopes = [scope for scope in grant.scopes if scope != "notification.manage"]
    grant.save()

    create(api, department, customer, number="RO-2")

    assert Delivery.objects.filter(subscription=subscription).count() == 1


def test_another_process_s_announcement_drops_what_is_held(partner, department):
    assert _department_subscribers(department.pk) == []
    subscription = subscribe(partner, department)
    # as if another process had written it: this process was not told (its announcements are dropped here)
    nearcache.near_cache().store(
        {f"{SUBSCRIBERS_TAG}:{department.pk}": []}, tag=SUBSCRIBERS_TAG, sequence=nearcache.near_cache().sequence
    )
    connection.orma_subscribers_written = False
    assert _department_subscribers(department.pk) == []  # held: stale until the announcement arrives

    redis_client().publish(nearcache.channel(), f"{secrets.token_hex(6)} {SUBSCRIBERS_TAG}")
    time.sleep(0.05)

    assert [pk for pk, _, _ in _department_subscribers(department.pk)] == [subscription.pk]


def test_a_subscription_rolled_back_is_not_held(partner, department):
    assert _department_subscribers(department.pk) == []
    with pytest.raises(RuntimeError), transaction.atomic():
        subscribe(partner, department)
        assert len(_department_subscribers(department.pk)) == 1  # this transaction sees its own
        raise RuntimeError("rolled back")

    assert _department_subscribers(department.pk) == []
