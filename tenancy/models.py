"""Tenancy: dealers, their departments, the partners that call the API and what each may do where.

These models moved here from the orders app; their tables keep their names (``orders_dealer`` ...) so the
move changed no row (``tenancy/migrations/0001_initial.py``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from orma.crypto import EncryptedTextField

from .choices import ALL_BRANDS, ALL_SCOPES, DepartmentType, DmsKind, DmsMode


class Dealer(models.Model):
    """A dealership (Keyloop's enterprise): brands it services, its DMS connection, parts rules."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, default="DE", help_text="ISO 3166-1 alpha-2")
    brands = models.JSONField(default=list, help_text=f"Brand codes, a subset of {', '.join(ALL_BRANDS)}")
    dms_kind = models.CharField(max_length=20, choices=DmsKind.choices, default=DmsKind.SANDBOX)
    dms_base_url = models.URLField(blank=True)
    dms_username = models.CharField(max_length=200, blank=True)
    # encrypted at rest (orma.crypto), read back in the clear by the DMS adapters; never shown in the admin
    dms_password = EncryptedTextField(blank=True)
    dms_mode = models.CharField(max_length=10, choices=DmsMode.choices, default=DmsMode.SYNC)
    parts_order_retention_days = models.PositiveIntegerField(default=365, validators=[MinValueValidator(1)])
    parts_order_reference_required = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_dealer"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A dealer department or store (myKaarma's departmentUUID, Keyloop's storeId)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=DepartmentType.choices, default=DepartmentType.SERVICE)
    dms_id = models.CharField(max_length=50, blank=True, help_text="The department's id in the DMS; default its UUID")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_department"
        ordering = ["dealer__name", "name"]

    def __str__(self) -> str:
        return f"{self.dealer.name} / {self.name}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self.dms_id:
            self.dms_id = str(self.uuid)
        super().save(*args, **kwargs)


class Partner(models.Model):
    """An API consumer (the seed's service subscriber), authenticating with HTTP Basic."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    username = models.CharField(max_length=150, unique=True)
    # HMAC-SHA256 of the secret (orma.crypto); the secret itself is shown once and never stored.
    secret_hash = models.CharField(max_length=64, editable=False)
    # The secret before the last rotation, accepted until previous_secret_valid_until.
    previous_secret_hash = models.CharField(max_length=64, blank=True, editable=False)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty means the server default"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_partner"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


class Grant(models.Model):
    """What one partner may do in one department: a set of scopes."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="grants")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="grants")
    scopes = models.JSONField(default=list, help_text=f"Any of {', '.join(ALL_SCOPES)}")

    class Meta:
        db_table = "orders_grant"
        constraints = [models.UniqueConstraint(fields=["partner", "department"], name="grant_partner_department")]

    def __str__(self) -> str:
        return f"{self.partner} @ {self.department}: {', '.join(self.scopes)}"


class DealerStaff(models.Model):
    """Ties a Django user (dealer staff) to the one dealer whose rows they see in the admin."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dealer_staff")
    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        db_table = "orders_dealerstaff"
        verbose_name_plural = "dealer staff"

    def __str__(self) -> str:
        return f"{self.user} ({self.dealer})"
