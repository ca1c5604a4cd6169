"""The DMS push: one outbox row per order (the newest version wins), every attempt logged, and a circuit
breaker per dealer."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from orma.outbox import OutboxRow


class DmsPush(OutboxRow):
    """The delivery of one repair order to its dealer's DMS: one row per order, one push in flight.

    ``version`` is the newest version of the order to deliver; an update while a push is in flight only
    raises it, and the push that ends then leaves the row PENDING again, so updates coalesce into one push of
    the newest version and an older version never reaches the DMS after a newer one. ``pushed_version`` is
    what the DMS holds; ``dms_order_uuid`` the DMS order OrMa's order belongs to (later versions update it).
    """

    dealer = models.ForeignKey("tenancy.Dealer", on_delete=models.CASCADE, related_name="dms_pushes")
    repair_order = models.OneToOneField("orders.RepairOrder", on_delete=models.CASCADE, related_name="dms_push")
    version = models.PositiveIntegerField(default=1)
    pushed_version = models.PositiveIntegerField(null=True, blank=True)
    dms_order_uuid = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            # the sweep and the worker's claim: due rows, oldest first
            models.Index(fields=["status", "next_attempt_at"], name="dms_push_due"),
            models.Index(fields=["dealer", "status"], name="dms_push_dealer_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(pushed_version__isnull=True) | Q(pushed_version__lte=models.F("version")),
                name="dms_push_pushed_not_ahead",
            )
        ]

    def __str__(self) -> str:
        return f"push of order {self.repair_order_id} v{self.version}: {self.status}"


class DmsAttempt(models.Model):
    """One attempt to push an order: what was sent, what came back, how long it took."""

    class Outcome(models.TextChoices):
        SYNCED = "SYNCED"
        REJECTED = "REJECTED"
        RETRY = "RETRY"  # a transient failure: another attempt follows
        FAILED = "FAILED"  # a transient failure with the retry budget spent

    push = models.ForeignKey(DmsPush, on_delete=models.CASCADE, related_name="attempts_log")
    number = models.PositiveIntegerField(help_text="the push's attempt number")
    version = models.PositiveIntegerField(help_text="the order's version this attempt sent")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=20, blank=True, help_text="why it failed: connection, timeout, server …")
    error = models.TextField(blank=True)
    requests = models.JSONField(default=dict, help_text="the requests it made: method, path, status, duration")
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["push", "number"]
        indexes = [models.Index(fields=["push", "-started_at"], name="dms_attempt_push_recent")]

    def __str__(self) -> str:
        return f"attempt {self.number} of push {self.push_id}: {self.outcome}"


class DmsCircuit(models.Model):
    """A dealer's DMS as the pushes have found it lately: consecutive failures, and a pause while it is down.

    A DMS that keeps timing out or failing is paused (``open_until``) instead of letting every order burn
    its attempts; when the pause ends one push probes it: success closes the circuit, failure pauses again,
    longer.
    """

    dealer = models.OneToOneField("tenancy.Dealer", on_delete=models.CASCADE, related_name="dms_circuit")
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    pauses = models.PositiveIntegerField(default=0, help_text="pauses in a row: each lasts longer")
    reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.dealer_id}: {'open until ' + str(self.open_until) if self.open_until else 'closed'}"


class PartsOrderPush(OutboxRow):
    """The delivery of one parts order to a network DMS (Keyloop), then the polling of its line statuses.

    Stage SUBMIT hands the order over (seed 002's POST: 201 with the lines, or 202 to be polled); stage POLL
    asks the DMS for the order (seed 002's GET) and applies the line statuses it reports through the parts
    service, less often while nothing changes, until the order is CLOSED (then SYNCED: done).
    """

    class Stage(models.TextChoices):
        SUBMIT = "SUBMIT"
        POLL = "POLL"

    dealer = models.ForeignKey("tenancy.Dealer", on_delete=models.CASCADE, related_name="parts_order_pushes")
    parts_order = models.OneToOneField("parts.PartsOrder", on_delete=models.CASCADE, related_name="dms_push")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.SUBMIT)
    quiet_polls = models.PositiveIntegerField(default=0, help_text="polls in a row that changed nothing")

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="parts_push_due")]

    def __str__(self) -> str:
        return f"parts order {self.parts_order_id} ({self.stage}): {self.status}"
