"""The hand-written SQL of notifications (``notifications.sql``) against the ORM code it replaces: the same
input through both paths on PostgreSQL, the same rows stored and the same bodies sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifications import payloads
from notifications.delivery import _event_write_orm, _event_write_postgresql
from notifications.models import Delivery, Event, PayloadForm
from notifications.tests.factories import SubscriptionFactory
from tenancy.tests.factories import DepartmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AT = datetime(2026, 12, 2, 20, 0, 0, 123456, tzinfo=UTC)


def event(department, subject_key):
    return Event(
        type="order.updated",
        department_id=department.pk,
        subject_key=subject_key,
        data={"orderUUID": "a", "version": 3, "status": "OPEN", "dms": {"status": "PENDING", "orderNumber": None}},
        document={"orderUUID": "a", "version": 3, "jobs": [{"text": "Ölwechsel – 5 l", "amount": 1.5}]},
        occurred_at=AT,
    )


@pytest.fixture(params=["auto", "force_generic_plan"])
def plan_mode(request):
    """The statements run prepared (``orma.db.prepared_cursor``) once past psycopg's threshold; PostgreSQL may
    then plan them once without their values: each test's answers hold either way."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL plan_cache_mode = {request.param}")  # until the test's transaction ends
    return request.param


def warmed(run, times=6):
    """Run ``run`` past psycopg's prepare threshold (five runs): the next run of its statement is prepared."""
    for n in range(times):
        run(n)


def assert_prepared(*markers):
    """Each marker is in a statement the connection holds prepared."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    for marker in markers:
        assert any(marker in statement for statement in statements), (marker, statements)


def columns(row, *leave_out):
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.attname not in leave_out}


def stored(written, event_):
    """The rows one path wrote, without their ids (the uuids are compared apart, the stamps below)."""
    row = columns(Event.objects.get(pk=event_.pk), "id")
    deliveries = [
        columns(Delivery.objects.get(pk=delivery_id), "id", "event_id", "created_at", "updated_at")
        for _, delivery_id, _ in sorted(written)
    ]
    bodies = {
        form: {
            **json.loads(payloads.body(Event.objects.select_related("department").get(pk=event_.pk), form)),
            "id": "",
        }
        for form in PayloadForm.values
    }
    return row, deliveries, bodies


def test_the_event_with_its_deliveries_in_one_statement_stores_what_the_orm_stores(
    django_assert_max_num_queries, plan_mode
):
    department = DepartmentFactory()
    subscriptions = [SubscriptionFactory(departments=[department]).pk for _ in range(3)]
    warmed(lambda n: _event_write_postgresql(event(department, f"order:warm-{n}"), subscriptions))
    through_orm, through_sql = event(department, "order:a"), event(department, "order:a")
    written_orm = _event_write_orm(through_orm, subscriptions)
    with django_assert_max_num_queries(1):
        written_sql = _event_write_postgresql(through_sql, subscriptions)

    assert [s for s, _, _ in written_sql] == [s for s, _, _ in written_orm] == subscriptions
    assert [held for _, _, held in written_sql] == [held for _, _, held in written_orm] == [False] * 3
    assert through_sql.pk and not through_sql._state.adding and through_sql.pk != through_orm.pk
    event_orm, deliveries_orm, bodies_orm = stored(written_orm, through_orm)
    event_sql, deliveries_sql, bodies_sql = stored(written_sql, through_sql)
    assert event_orm.pop("uuid") != event_sql.pop("uuid")
    assert event_sql == event_orm
    for orm_row, sql_row in zip(deliveries_orm, deliveries_sql, strict=True):
        assert orm_row.pop("uuid") != sql_row.pop("uuid")
        assert sql_row == orm_row
    assert bodies_sql == bodies_orm
    # the created/updated stamps are the event's instant in SQL, the ORM's own clock: both at the write
    for _, delivery_id, _ in written_sql:
        delivery = Delivery.objects.get(pk=delivery_id)
        assert delivery.created_at == delivery.updated_at == delivery.next_attempt_at == AT
    assert_prepared("INSERT INTO notifications_event")


def test_an_event_without_a_document_stores_null_in_both(django_assert_max_num_queries):
    department = DepartmentFactory()
    subscription = SubscriptionFactory(departments=[department]).pk
    through_orm, through_sql = event(department, ""), event(department, "")
    through_orm.document = through_sql.document = None
    _event_write_orm(through_orm, [subscription])
    _event_write_postgresql(through_sql, [subscription])
    assert Event.objects.filter(pk__in=[through_orm.pk, through_sql.pk], document__isnull=True).count() == 2


def test_the_subscribers_by_hand_are_the_orm_s_subscribers(django_assert_max_num_queries, plan_mode):
    from notifications.delivery import _subscribers_orm, _subscribers_postgresql
    from orma.events import EventType
    from tenancy.models import Partner
    from tenancy.tests.factories import partner_on

    department, elsewhere = DepartmentFactory(), DepartmentFactory()
    holder = partner_on(department)
    every_type = SubscriptionFactory(partner=holder, departments=[department], payload_form=PayloadForm.FULL).pk
    chosen = {
        every_type,
        SubscriptionFactory(
            partner=holder, departments=[department, elsewhere], payload_form=PayloadForm.THIN,
            event_types=[EventType.ORDER_CREATED, EventType.ORDER_UPDATED],
        ).pk,
    }  # fmt: skip
    # each left out for one reason: another type only, disabled, another department, no grant on it any more,
    # a grant without notification.manage, a deactivated partner, no types at all
    SubscriptionFactory(partner=holder, departments=[department], event_types=[EventType.PARTS_ORDER_CREATED])
    SubscriptionFactory(partner=holder, departments=[department], enabled=False)
    SubscriptionFactory(partner=holder, departments=[elsewhere])
    SubscriptionFactory(departments=[department])  # its partner holds no grant on the department
    SubscriptionFactory(partner=partner_on(department, scopes=["order.read"]), departments=[department])
    gone = partner_on(department)
    SubscriptionFactory(partner=gone, departments=[department])
    Partner.objects.filter(pk=gone.pk).update(is_active=False)
    SubscriptionFactory(partner=holder, departments=[department], event_types=[])

    warmed(lambda _: _subscribers_postgresql(EventType.ORDER_CREATED, elsewhere.pk))
    for event_type in (EventType.ORDER_CREATED, EventType.ORDER_UPDATED, EventType.PARTS_ORDER_STATUS_CHANGED):
        through_orm = sorted(_subscribers_orm(event_type, department.pk))
        with django_assert_max_num_queries(1):
            through_sql = sorted(_subscribers_postgresql(event_type, department.pk))
        assert through_sql == through_orm
    assert {pk for pk, _ in _subscribers_postgresql(EventType.ORDER_CREATED, department.pk)} == chosen
    assert _subscribers_postgresql(EventType.PARTS_ORDER_STATUS_CHANGED, department.pk) == [(every_type, "full")]
    assert sorted(_subscribers_postgresql(EventType.ORDER_UPDATED, elsewhere.pk)) == sorted(
        _subscribers_orm(EventType.ORDER_UPDATED, elsewhere.pk)
    )
    assert_prepared("JOIN notifications_subscription_departments AS covered")


def test_the_claim_s_lock_and_count_by_hand_answer_what_the_orm_answers(django_assert_max_num_queries, plan_mode):
    import uuid
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from notifications.delivery import (
        _claim_subscription_orm,
        _claim_subscription_postgresql,
        _in_flight_orm,
        _in_flight_postgresql,
    )
    from notifications.models import DeliveryStatus
    from notifications.tests.factories import pending_delivery

    base = timezone.now()
    live, ran_out = base + timedelta(minutes=1), base - timedelta(seconds=1)
    free, capped, empty = SubscriptionFactory(), SubscriptionFactory(), SubscriptionFactory()
    batch = uuid.uuid4()
    for _ in range(2):  # one batch of two rows: one request in flight
        pending_delivery(capped, status=DeliveryStatus.SENDING, lease_until=live, attempt_token=batch)
    pending_delivery(capped, status=DeliveryStatus.SENDING, lease_until=live, attempt_token=None)  # counts alone
    pending_delivery(capped, status=DeliveryStatus.SENDING, lease_until=ran_out, attempt_token=uuid.uuid4())
    pending_delivery(free, status=DeliveryStatus.SENDING, lease_until=live, attempt_token=uuid.uuid4())
    rung = {
        "due": pending_delivery(free),
        "not due": pending_delivery(free, next_attempt_at=base + timedelta(seconds=5)),
        "lease ran out": pending_delivery(free, status=DeliveryStatus.SENDING, lease_until=ran_out),
        "held": pending_delivery(free, status=DeliveryStatus.SENDING, lease_until=live),
        "delivered": pending_delivery(free, status=DeliveryStatus.DELIVERED),
        "capped, due": pending_delivery(capped),
    }
    now = timezone.now()  # every row written: the due ones are due
    warmed(lambda _: (_claim_subscription_postgresql(10**9, now, 3), _in_flight_postgresql(empty.pk, now)))
    answers = {}
    for cap in (2, 3):
        for name, delivery in [*rung.items(), ("missing", None)]:
            delivery_id = delivery.pk if delivery is not None else 10**9
            with transaction.atomic():
                through_orm = _claim_subscription_orm(delivery_id, now, cap)
            with django_assert_max_num_queries(1):  # (outside a transaction: no BEGIN counted)
                through_sql = _claim_subscription_postgresql(delivery_id, now, cap)
            assert through_sql == through_orm, (name, cap)
            answers[name, cap] = through_sql
    # each subscription has 2 requests in flight (a batch of two rows, a row without a token; a lease ran out)
    assert answers["due", 3] == answers["lease ran out", 3] == free.pk and answers["due", 2] is None
    assert answers["not due", 3] is answers["held", 3] is answers["delivered", 3] is answers["missing", 3] is None
    assert answers["capped, due", 2] is None and answers["capped, due", 3] == capped.pk
    for subscription, in_flight in ((free, 2), (capped, 2), (empty, 0)):
        with django_assert_max_num_queries(1):
            through_sql = _in_flight_postgresql(subscription.pk, now)
        assert through_sql == _in_flight_orm(subscription.pk, now) == in_flight
    assert_prepared("WHERE rung.id = $1", "SELECT count(DISTINCT coalesce(attempt_token, uuid))")


@pytest.mark.parametrize(
    ("batches", "claimed_ago", "rung"),
    [
        (4, 5.0, False),  # every slot held by a request in flight for 5 s: an endpoint that hangs
        (3, 5.0, True),  # a slot is free
        (4, 0.0, True),  # every slot taken, but by requests just sent: a busy endpoint, not a hanging one
        (4, 61.0, True),  # their leases ran out: those requests no longer count
    ],
)
def test_a_delivery_rings_no_doorbell_while_every_slot_of_its_subscription_hangs(
    settings, monkeypatch, django_capture_on_commit_callbacks, batches, claimed_ago, rung
):
    import uuid
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from notifications import doorbell
    from notifications.delivery import event_record
    from notifications.models import DeliveryStatus
    from notifications.tests.factories import pending_delivery

    settings.ORMA_WEBHOOK_MAX_IN_FLIGHT, settings.ORMA_WEBHOOK_LEASE_SECONDS = 4, 60
    department = DepartmentFactory()
    hanging = SubscriptionFactory(departments=[department])
    lease_until = timezone.now() + timedelta(seconds=60 - claimed_ago)
    for _ in range(batches):
        pending_delivery(hanging, status=DeliveryStatus.SENDING, lease_until=lease_until, attempt_token=uuid.uuid4())
    other = SubscriptionFactory(departments=[department])  # another partner's subscription: always rung
    rang: list[int] = []
    monkeypatch.setattr(doorbell, "ring", lambda delivery_id, subscription_id=None: rang.append(subscription_id))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_record(
            event_type="order.updated", department=department, subject_key="order:a", data={},
            subscriptions=[hanging, other],
        )  # fmt: skip
    assert sorted(rang) == sorted([other.pk, *([hanging.pk] if rung else [])])
    # the ORM's path (the embedded default) does not ask: it rings for every delivery
    written = _event_write_orm(event(department, "order:b"), [hanging.pk, other.pk])
    assert [held for _, _, held in written] == [False, False]
