"""Change notifications (DESIGN §7): partners' subscriptions, the events stored once, one delivery per
subscription (an outbox row, ``orma.outbox``), every attempt of it, and what happened to a subscription.

The database is the only source of truth of every delivery: the event and its deliveries are written in
the transaction of the change itself, a worker claims a delivery under a lease and a token, and the
attempt's outcome is written only while the token is still its own.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from orma.crypto import EncryptedTextField
from orma.events import EventType
from orma.outbox import OutboxRow, OutboxStatus
from tenancy.models import Department, Partner


class PayloadForm(models.TextChoices):
    """What a delivery's ``data`` holds: the object as its GET answers it, or only ids, version and status."""

    FULL = "full"
    THIN = "thin"


class DeliveryStatus(models.TextChoices):
    """Where a webhook delivery stands (the outbox's states, in the words of webhooks)."""

    PENDING = OutboxStatus.PENDING.value  # waiting for its next attempt, or for the one before it
    SENDING = OutboxStatus.SENDING.value  # a worker holds it until ``lease_until``
    DELIVERED = "DELIVERED"  # the endpoint answered 2xx
    FAILED = "FAILED"  # out of attempts, or its subscription is gone (410) or disabled: redeliverable


class Subscription(models.Model):
    """A partner's webhook endpoint: where to send which events of which of its departments, and how to sign."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="the API's id")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="subscriptions")
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list, help_text="the event types sent (EventType values)")
    departments = models.ManyToManyField(Department, related_name="+", help_text="departments the partner holds")
    payload_form = models.CharField(max_length=4, choices=PayloadForm.choices, default=PayloadForm.FULL)
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, help_text="why OrMa or the partner disabled it")
    # The signing secret (``whsec_`` + base64); during a rotation's overlap the one before it signs too.
    # encrypted at rest like dealers' DMS passwords (orma.crypto; hardening, issue 14)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="the first failed attempt since the last success; None while healthy"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["partner", "created_at", "id"], name="subscription_partner_recent"),
            models.Index(fields=["failing_since"], name="subscription_failing", condition=Q(enabled=True)),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.uuid})"


class SubscriptionNotice(models.Model):
    """Something that happened to a subscription itself (disabled, re-enabled, secret rotated): its log."""

    class Kind(models.TextChoices):
        CREATED = "CREATED"
        UPDATED = "UPDATED"
        SECRET_ROTATED = "SECRET_ROTATED"
        DISABLED_GONE = "DISABLED_GONE"  # the endpoint answered 410
        DISABLED_FAILING = "DISABLED_FAILING"  # no success for 5 days
        DISABLED_BY_PARTNER = "DISABLED_BY_PARTNER"
        ENABLED = "ENABLED"  # by the partner, or by a successful ping

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subscription", "-at"], name="subscription_notice_recent")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class Event(models.Model):
    """One thing that happened, stored once; each matching subscription gets a :class:`Delivery` of it.

    ``data`` is the thin form (ids, number, version, status, and e.g. the DMS's errors); ``document`` is the
    object as its GET answered it at that moment, kept only when a subscription wants the full form (a
    later delivery must carry this version, not the object as it is by then).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="the payload's id")
    type = models.CharField(max_length=40, choices=EventType.choices)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject_key = models.CharField(
        max_length=80, blank=True, help_text="the object's kind and UUID (e.g. order:<uuid>); empty for a ping"
    )
    data = models.JSONField(default=dict)
    document = models.JSONField(null=True, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["occurred_at"], name="event_occurred")]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_key} ({self.uuid})"


class Delivery(OutboxRow):
    """One event to one subscription: its delivery state (the outbox's), stable ``webhook-id`` included.

    Per (subscription, object) deliveries go out in the order they were written (``id``): one waits while an
    earlier one of the same object is PENDING or SENDING, so version N+1 never overtakes version N.
    """

    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="webhook-id: msg_<hex>")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event so the ordering and the log's filters need no join.
    subject_key = models.CharField(max_length=80, blank=True)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # the claim's "an earlier one of the same object is still open" and the next one to ring
            models.Index(
                fields=["subscription", "subject_key", "id"],
                name="delivery_open_per_object",
                condition=Q(status__in=["PENDING", "SENDING"]),
            ),
            # the requests in flight of a subscription (the claim's cap, the create's "every slot held"): only the
            # SENDING rows, a handful per subscription, never its whole history
            models.Index(
                fields=["subscription", "lease_until"], name="delivery_in_flight", condition=Q(status="SENDING")
            ),
            # the sweep: due or lease expired
            models.Index(
                fields=["next_attempt_at", "id"], name="delivery_due", condition=Q(status__in=["PENDING", "SENDING"])
            ),
            # the log: per subscription, newest first, and the partner's filters
            models.Index(fields=["subscription", "-id"], name="delivery_subscription_recent"),
            # the log's status and eventType filters, and recovery's FAILED since (notifications API)
            models.Index(fields=["subscription", "status", "-id"], name="delivery_subscription_status"),
            models.Index(fields=["subscription", "event_type", "-id"], name="delivery_subscription_type"),
            models.Index(fields=["created_at"], name="delivery_created"),
        ]

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks message id: the same on every retry and on a manual redelivery."""
        return f"msg_{self.uuid.hex}"

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One request of a delivery, successes included: what the endpoint answered, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_log")
    number = models.PositiveIntegerField(help_text="1 for the first attempt of this delivery")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="None: no HTTP answer")
    error = models.TextField(blank=True, help_text="why it failed: timeout, refused address, connection error …")
    response_body = models.TextField(blank=True, help_text="the first 64 KiB of the answer")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [
            models.Index(fields=["delivery", "number"], name="delivery_attempt_number"),
            models.Index(fields=["started_at"], name="delivery_attempt_started"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error[:40]}"
