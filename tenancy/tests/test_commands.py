"""Tenancy's support commands: their --json keys, and every bad argument exits non-zero writing nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orma.crypto import secret_matches
from tenancy.models import Dealer, Department, Grant, Partner
from tenancy.tests.factories import DealerFactory, DepartmentFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def row_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Dealer, Department, Partner, Grant))


class TestCreateDealer:
    def test_it_creates_a_dealer(self, run_json):
        result = run_json("orma_create_dealer", "--name", "Autohaus Nord", "--brands", "VW,AUDI", "--dms-mode", "async")

        dealer = Dealer.objects.get(uuid=result["dealerUUID"])
        assert set(result) == {"dealerUUID"}
        assert dealer.name == "Autohaus Nord"
        assert dealer.brands == ["VW", "AUDI"]
        assert dealer.dms_mode == "async"
        assert dealer.dms_kind == "sandbox"

    @pytest.mark.parametrize(
        "args",
        [
            ["--name", "X", "--brands", "VW,TESLA"],
            ["--name", "X", "--dms-kind", "mykaarma"],  # an HTTP DMS needs a URL
            ["--name", "X", "--dms-kind", "mykaarma", "--dms-url", "not a url"],
            ["--name", "X", "--country", "Germany"],
        ],
    )
    def test_a_bad_argument_writes_nothing(self, args):
        before = row_counts()

        with pytest.raises(CommandError) as raised:
            call_command("orma_create_dealer", *args)

        assert "\n" not in str(raised.value)
        assert row_counts() == before


class TestCreateDepartment:
    def test_it_creates_a_department_with_its_uuid_as_dms_id(self, run_json):
        dealer = DealerFactory()

        result = run_json("orma_create_department", "--dealer", str(dealer.uuid), "--name", "Teile", "--type", "PARTS")

        department = Department.objects.get(uuid=result["departmentUUID"])
        assert department.dealer == dealer
        assert department.type == "PARTS"
        assert department.dms_id == str(department.uuid)

    def test_it_keeps_a_given_dms_id(self, run_json):
        dealer = DealerFactory()

        result = run_json("orma_create_department", "--dealer", str(dealer.uuid), "--name", "S", "--dms-id", "D-7")

        assert Department.objects.get(uuid=result["departmentUUID"]).dms_id == "D-7"

    @pytest.mark.parametrize("dealer", [str(uuid.uuid4()), "not-a-uuid"])
    def test_an_unknown_dealer_writes_nothing(self, dealer):
        before = row_counts()

        with pytest.raises(CommandError, match="unknown dealer"):
            call_command("orma_create_department", "--dealer", dealer, "--name", "S")

        assert row_counts() == before


class TestCreatePartner:
    def test_it_creates_a_partner_whose_secret_works_and_is_not_stored(self, run_json):
        service, parts = DepartmentFactory(), DepartmentFactory()

        result = run_json(
            "orma_create_partner",
            "--name", "Importer",
            "--username", "importer",
            "--grant", f"{service.uuid}=order.create,order.read",
            "--grant", f"{parts.uuid}=parts.read",
        )  # fmt: skip

        partner = Partner.objects.get(username="importer")
        assert set(result) == {"username", "secret"}
        assert len(result["secret"]) >= 43  # 256 bits, URL-safe base64
        assert result["secret"] not in (partner.secret_hash, partner.previous_secret_hash)
        assert secret_matches(result["secret"], partner.secret_hash)
        grants = {g.department_id: g.scopes for g in partner.grants.all()}
        assert grants == {service.id: ["order.create", "order.read"], parts.id: ["parts.read"]}

    @pytest.mark.parametrize(
        "grant",
        [
            "{dept}=order.create,order.destroy",  # unknown scope
            "{dept}",  # malformed: no '='
            "{dept}=",  # no scopes
            "not-a-uuid=order.read",
            f"{uuid.uuid4()}=order.read",  # unknown department
        ],
    )
    def test_a_bad_grant_writes_nothing(self, grant):
        department = DepartmentFactory()
        before = row_counts()

        with pytest.raises(CommandError) as raised:
            call_command(
                "orma_create_partner", "--name", "P", "--username", "p1", "--grant", grant.format(dept=department.uuid)
            )

        assert "\n" not in str(raised.value)
        assert row_counts() == before

    def test_a_taken_username_writes_nothing(self):
        PartnerFactory(username="taken")
        before = row_counts()

        with pytest.raises(CommandError, match="already exists"):
            call_command("orma_create_partner", "--name", "P", "--username", "taken")

        assert row_counts() == before


class TestRotatePartnerSecret:
    def test_it_prints_a_new_secret_and_the_grace_end(self, run_json):
        partner = PartnerFactory()

        result = run_json("orma_rotate_partner_secret", "--username", partner.username, "--grace-hours", "24")

        partner.refresh_from_db()
        assert set(result) == {"username", "secret", "oldSecretValidUntil"}
        assert secret_matches(result["secret"], partner.secret_hash)
        assert result["oldSecretValidUntil"] == partner.previous_secret_valid_until.isoformat()

    def test_without_grace_the_old_secret_ends_now(self, run_json):
        partner = PartnerFactory()

        result = run_json("orma_rotate_partner_secret", "--username", partner.username)

        assert result["oldSecretValidUntil"] is None

    def test_an_unknown_username_fails(self):
        with pytest.raises(CommandError, match="no partner"):
            call_command("orma_rotate_partner_secret", "--username", "ghost")

    def test_negative_grace_fails_and_changes_nothing(self):
        partner = PartnerFactory()

        with pytest.raises(CommandError, match="from 0 to 720"):
            call_command("orma_rotate_partner_secret", "--username", partner.username, "--grace-hours", "-1")

        partner.refresh_from_db()
        assert secret_matches(partner.secret, partner.secret_hash)


class TestRefusals:
    """What a support engineer's slip would otherwise do silently."""

    def test_a_second_rotation_inside_the_grace_period_is_refused_unless_forced(self, run_json):
        partner = PartnerFactory()
        first = run_json("orma_rotate_partner_secret", "--username", partner.username, "--grace-hours", "24")

        with pytest.raises(CommandError, match="grace period of its last rotation"):
            call_command("orma_rotate_partner_secret", "--username", partner.username, "--grace-hours", "24")
        partner.refresh_from_db()
        assert partner.previous_secret_valid_until.isoformat() == first["oldSecretValidUntil"]  # untouched

        forced = run_json("orma_rotate_partner_secret", "--username", partner.username, "--force")
        assert forced["oldSecretValidUntil"] is None

    def test_a_rotation_after_the_grace_period_needs_no_force(self, run_json):
        partner = PartnerFactory()
        run_json("orma_rotate_partner_secret", "--username", partner.username, "--grace-hours", "1")
        Partner.objects.filter(pk=partner.pk).update(previous_secret_valid_until=timezone.now() - timedelta(seconds=1))

        assert run_json("orma_rotate_partner_secret", "--username", partner.username)["secret"]

    @pytest.mark.parametrize("hours, accepted", [("720", True), ("720.01", False), ("100000", False)])
    def test_the_grace_period_is_capped_at_30_days(self, run_json, hours, accepted):
        partner = PartnerFactory()
        args = ("orma_rotate_partner_secret", "--username", partner.username, "--grace-hours", hours)
        if accepted:
            assert run_json(*args)["oldSecretValidUntil"]
        else:
            with pytest.raises(CommandError, match="from 0 to 720"):
                call_command(*args)

    @pytest.mark.parametrize("username", ["importer:1", "tab\there", "nul\x00", "new\nline", "with space", ""])
    def test_a_username_http_basic_cannot_carry_is_refused(self, username):
        before = row_counts()

        with pytest.raises(CommandError, match="username must not"):
            call_command("orma_create_partner", "--name", "X", "--username", username)

        assert row_counts() == before

    def test_a_partner_without_grants_is_created_with_a_warning(self):
        out, err = StringIO(), StringIO()

        call_command("orma_create_partner", "--name", "X", "--username", "lonely", "--json", stdout=out, stderr=err)

        result = json.loads(out.getvalue())
        assert result["username"] == "lonely" and result["secret"]
        assert result["warnings"] == [
            "partner lonely holds no grant: every call answers 404 until it gets one (--grant)"
        ]
        assert "warning: partner lonely holds no grant" in err.getvalue()

    def test_a_duplicate_dealer_name_is_refused_unless_allowed(self, run_json):
        existing = DealerFactory(name="Autohaus Nord")

        with pytest.raises(CommandError, match=f"a dealer named 'Autohaus Nord' exists \\({existing.uuid}\\)"):
            call_command("orma_create_dealer", "--name", "autohaus nord")
        assert Dealer.objects.count() == 1

        assert run_json("orma_create_dealer", "--name", "Autohaus Nord", "--allow-duplicate")["dealerUUID"]
        assert Dealer.objects.count() == 2

    def test_a_duplicate_department_name_is_refused_unless_allowed(self, run_json):
        department = DepartmentFactory(name="Service")
        args = ("orma_create_department", "--dealer", str(department.dealer.uuid), "--name", "Service")

        with pytest.raises(CommandError, match="has a department named 'Service'"):
            call_command(*args)
        assert run_json(*args, "--allow-duplicate")["departmentUUID"]
        # another dealer may have its own "Service"
        assert run_json("orma_create_department", "--dealer", str(DealerFactory().uuid), "--name", "Service")
