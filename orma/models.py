"""Shared records of the API plumbing."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed byte for byte (72 hours).

    ``status_code`` is null while the first request is still being processed; such a claim older than
    ``ORMA_IDEMPOTENCY_IN_FLIGHT_SECONDS`` belongs to a request that died (a SIGKILLed worker) and is taken over.
    """

    partner = models.ForeignKey("tenancy.Partner", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content = models.BinaryField(null=True, blank=True, help_text="the answer's body, as sent")
    response_headers = models.JSONField(default=dict, blank=True)  # Content-Type, ETag, Location
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="idempotency_partner_key")]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.key}"
