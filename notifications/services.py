"""Writes of notifications the partner asks for (DESIGN §7): subscriptions, their secret, pings, redelivery.

Every service runs in one transaction and leaves the subscription's own log (``SubscriptionNotice``) with
what happened. Delivering is ``notifications.delivery``'s: a ping is an event recorded for one subscription
(``delivery.event_record``), a redelivery puts deliveries back in its queue (``delivery.deliveries_requeue``),
both rung once the transaction commits. Services raise :class:`orma.errors.DomainError` and know no HTTP.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from orma.errors import DomainError, ErrorCode, Problem
from orma.events import EventType
from tenancy.models import Department

from . import delivery as webhooks
from . import rules, selectors
from .models import Delivery, DeliveryStatus, PayloadForm, Subscription, SubscriptionNotice
from .signing import new_secret

# What a redelivery may take: a delivery in flight (SENDING) is its worker's until it ends.
REDELIVERABLE = (DeliveryStatus.FAILED, DeliveryStatus.DELIVERED, DeliveryStatus.PENDING)


@dataclass(frozen=True)
class SubscriptionSettings:
    """A subscription's settings as checked by :func:`subscription_check`; None: not given (left as it is)."""

    url: str | None = None
    event_types: list[str] | None = None
    departments: list[Department] | None = None
    payload_form: str | None = None
    enabled: bool | None = None
    given: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = ("url", "event_types", "departments", "payload_form", "enabled")
        object.__setattr__(self, "given", tuple(name for name in names if getattr(self, name) is not None))


def subscription_check(
    *,
    partner_id: int,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    department_uuids: Sequence[uuid.UUID] | None = None,
    payload_form: str | None = None,
    enabled: bool | None = None,
    creating: bool = False,
) -> SubscriptionSettings:
    """The subscription's rules on what is given, every problem at once: an allowed URL (``ssrf``), known
    event types, departments the partner holds ``notification.manage`` on, at least one of each; on
    creation url, event types and departments are required."""
    problems: list[Problem] = []
    if creating:
        for value, label in ((url, "url"), (event_types, "eventTypes"), (department_uuids, "departments")):
            if value is None:
                problems.append(Problem(ErrorCode.FIELD_REQUIRED, f"{label}: This field is required.", label))
    if url is not None:
        if len(url) > rules.URL_MAX_LENGTH:
            problems.append(
                Problem(ErrorCode.FIELD_TOO_LONG, f"url: at most {rules.URL_MAX_LENGTH} characters", "url", url)
            )
        else:
            problems += rules.url_problems(url)
    if event_types is not None:
        event_types = rules.unique(event_types)
        if not event_types:
            problems.append(Problem(ErrorCode.FIELD_REQUIRED, "eventTypes: at least one event type", "eventTypes"))
        problems += rules.event_types_problems(event_types)
    departments = None
    if department_uuids is not None:
        department_uuids = rules.unique(department_uuids)
        if not department_uuids:
            problems.append(Problem(ErrorCode.FIELD_REQUIRED, "departments: at least one department", "departments"))
        departments, refused = selectors.departments_for_subscription(
            partner_id=partner_id, department_uuids=department_uuids
        )
        problems += refused
    if payload_form is not None and payload_form not in PayloadForm.values:
        problems.append(Problem(ErrorCode.FIELD_INVALID, "payload: must be one of full, thin", "payload", payload_form))
    if problems:
        raise DomainError(problems)
    return SubscriptionSettings(
        url=url,
        event_types=list(event_types) if event_types is not None else None,
        departments=departments,
        payload_form=payload_form,
        enabled=enabled,
    )


def _notice(subscription: Subscription, kind: str, message: str) -> None:
    SubscriptionNotice.objects.create(subscription=subscription, kind=kind, message=message)


@transaction.atomic
def subscription_create(*, partner_id: int, checked: SubscriptionSettings) -> Subscription:
    """A new subscription with a fresh signing secret (on ``subscription.secret``, to be shown this once)."""
    assert checked.url and checked.event_types and checked.departments, "subscription_check(creating=True) first"
    subscription = Subscription.objects.create(
        partner_id=partner_id,
        url=checked.url,
        event_types=checked.event_types,
        payload_form=checked.payload_form or PayloadForm.FULL,
        enabled=True if checked.enabled is None else checked.enabled,
        secret=new_secret(),
    )
    subscription.departments.set(checked.departments)
    _notice(subscription, SubscriptionNotice.Kind.CREATED, f"created for {checked.url}")
    if not subscription.enabled:
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = "disabled by the partner"
        subscription.save(update_fields=["disabled_at", "disabled_reason", "updated_at"])
        _notice(subscription, SubscriptionNotice.Kind.DISABLED_BY_PARTNER, "created disabled")
    return subscription


_LABELS = {
    "url": "url",
    "event_types": "eventTypes",
    "departments": "departments",
    "payload_form": "payload",
}


@transaction.atomic
def subscription_update(*, subscription: Subscription, checked: SubscriptionSettings) -> Subscription:
    """Change what is given. Disabling is the partner's (DISABLED_BY_PARTNER); enabling a disabled
    subscription clears its disabled state and its failure clock (ENABLED): its FAILED deliveries stay
    FAILED until recovered (``subscription_recover``)."""
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    changed: list[str] = []
    for name in ("url", "event_types", "payload_form"):
        value = getattr(checked, name)
        if value is not None and value != getattr(locked, name):
            setattr(locked, name, value)
            changed.append(name)
    if checked.departments is not None:
        wanted = {department.pk for department in checked.departments}
        if wanted != set(locked.departments.values_list("pk", flat=True)):
            locked.departments.set(checked.departments)
            changed.append("departments")
    now = timezone.now()
    if checked.enabled is False and locked.enabled:
        locked.enabled, locked.disabled_at, locked.disabled_reason = False, now, "disabled by the partner"
        _notice(locked, SubscriptionNotice.Kind.DISABLED_BY_PARTNER, "disabled by the partner")
        changed.append("enabled")
    elif checked.enabled is True and not locked.enabled:
        locked.enabled, locked.disabled_at, locked.disabled_reason, locked.failing_since = True, None, "", None
        _notice(locked, SubscriptionNotice.Kind.ENABLED, "enabled by the partner")
        changed.append("enabled")
    if changed:
        locked.save()
        described = [_LABELS[name] for name in changed if name in _LABELS]
        if described:
            _notice(locked, SubscriptionNotice.Kind.UPDATED, "changed: " + ", ".join(described))
    return locked


@transaction.atomic
def subscription_delete(*, subscription: Subscription) -> None:
    """Delete the subscription with its deliveries and their log (a delivery in flight ends unrecorded)."""
    Subscription.objects.filter(pk=subscription.pk).delete()


@transaction.atomic
def subscription_rotate_secret(*, subscription: Subscription) -> Subscription:
    """A new signing secret (on the answer's ``secret``, shown this once). The one in use keeps signing
    beside it for ``ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS``; a second rotation within that overlap drops the
    oldest secret: the one in use until now becomes the previous one, with a fresh overlap."""
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    now = timezone.now()
    until = now + dt.timedelta(hours=settings.ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS)
    dropped = (
        bool(locked.previous_secret) and locked.previous_secret_until is not None and locked.previous_secret_until > now
    )
    locked.previous_secret, locked.previous_secret_until = locked.secret, until
    locked.secret = new_secret()
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
    message = f"the previous secret signs too until {until.isoformat(timespec='seconds')}"
    if dropped:
        message += "; the secret before it, still in its overlap, no longer signs"
    _notice(locked, SubscriptionNotice.Kind.SECRET_ROTATED, message)
    return locked


def subscription_ping(*, subscription: Subscription) -> Delivery:
    """Queue a ``ping`` to this subscription alone, enabled or not (a successful one re-enables it): one
    event, one PENDING delivery, delivered in the background; each ping its own object, so a ping never
    waits behind an earlier failing one."""
    ping_id = uuid.uuid4()
    with transaction.atomic():
        event = webhooks.event_record(
            event_type=EventType.PING,
            department=None,
            subject_key=f"ping:{ping_id}",
            data={"pingId": str(ping_id), "subscriptionId": str(subscription.uuid)},
            subscriptions=[subscription],
        )
        assert event is not None, "a ping names its subscription"
        return Delivery.objects.get(event=event, subscription=subscription)


def _disabled_conflict(subscription: Subscription) -> DomainError:
    return DomainError.of(
        ErrorCode.CONFLICT,
        "the subscription is disabled: enable it (PATCH enabled=true) or ping it first; its deliveries would fail",
    )


def delivery_redeliver(*, delivery: Delivery) -> None:
    """Send this delivery again, with the same ``webhook-id``, now and with a fresh attempt budget (CONFLICT
    while it is in flight, or while its subscription is disabled)."""
    if not delivery.subscription.enabled:
        raise _disabled_conflict(delivery.subscription)
    with transaction.atomic():
        queued = webhooks.deliveries_requeue(
            Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENDING)
        )
        if not queued:
            raise DomainError.of(
                ErrorCode.CONFLICT, "the delivery is being sent right now; redeliver it once this attempt ends"
            )


def deliveries_redeliver(*, deliveries: QuerySet[Delivery]) -> int:
    """Send these deliveries again (those in flight left alone), each with its ``webhook-id``; how many."""
    with transaction.atomic():
        return webhooks.deliveries_requeue(deliveries.exclude(status=DeliveryStatus.SENDING))


def subscription_recover(*, subscription: Subscription, since: dt.datetime) -> int:
    """Bulk recovery: every FAILED delivery of this subscription created since ``since`` sent again; how
    many (CONFLICT while the subscription is disabled)."""
    if not subscription.enabled:
        raise _disabled_conflict(subscription)
    return deliveries_redeliver(
        deliveries=selectors.deliveries(subscription_id=subscription.pk, status=DeliveryStatus.FAILED, since=since)
    )
