"""``orma_seed_demo``: idempotent, and the credentials it prints work."""

from __future__ import annotations

import uuid

import pytest

from orma.crypto import secret_matches
from tenancy.models import Dealer, Department, Grant, Partner

pytestmark = pytest.mark.django_db


def row_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Dealer, Department, Partner, Grant))


class TestSeedDemo:
    def test_it_is_idempotent_and_its_credentials_work(self, run_json, client, settings, tmp_path):
        settings.VAR_DIR = tmp_path
        first = run_json("orma_seed_demo")
        counts = row_counts()
        second = run_json("orma_seed_demo")

        assert row_counts() == counts
        assert first == second
        assert set(first) == {
            "dealerUUID",
            "departments",
            "customers",
            "parts",
            "partner",
            "admin",
            "staff",
        }  # DESIGN §8
        partner = Partner.objects.get(username=first["partner"]["username"])
        assert secret_matches(first["partner"]["secret"], partner.secret_hash)
        assert {g.department.uuid.hex for g in partner.grants.select_related("department")} == {
            uuid.UUID(u).hex for u in first["departments"].values()
        }
        assert client.login(username=first["admin"]["username"], password=first["admin"]["password"])
