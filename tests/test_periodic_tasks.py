"""Every periodic task beat schedules exists, and the idempotency purge forgets only expired keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from orma.celery import app
from orma.models import IdempotencyRecord
from orma.tasks import purge_idempotency_keys
from tenancy.tests.factories import PartnerFactory


def test_every_scheduled_task_is_registered():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)
    assert {"orma.purge_idempotency_keys", "parts.purge_parts_orders"} <= scheduled


@pytest.mark.django_db
def test_the_purge_deletes_keys_older_than_72_hours_only():
    partner = PartnerFactory()
    old = IdempotencyRecord.objects.create(partner=partner, key="old", fingerprint="f")
    fresh = IdempotencyRecord.objects.create(partner=partner, key="fresh", fingerprint="f")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=72, seconds=1))
    IdempotencyRecord.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(hours=71))

    assert purge_idempotency_keys() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
