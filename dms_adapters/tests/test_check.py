"""``orma_check``: the database, the broker and each dealer's DMS, with an exit code scripts can read."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tenancy.models import Dealer, Department, Grant, Partner
from tenancy.tests.factories import DealerFactory

pytestmark = pytest.mark.django_db


def row_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Dealer, Department, Partner, Grant))


class TestCheck:
    def test_it_reports_database_broker_and_each_dms(self, run_json, settings):
        dealer = DealerFactory()

        result = run_json("orma_check")

        assert result["database"] == "ok"
        assert result["broker"] == ("ok" if settings.CELERY_BROKER_URL else "eager")
        assert result["dms"][str(dealer.uuid)] == "ok"

    def test_an_unreachable_dms_is_down_and_the_exit_code_says_so(self):
        dealer = DealerFactory(dms_kind="mykaarma", dms_base_url="http://127.0.0.1:1/")
        out = StringIO()

        with pytest.raises(SystemExit) as exited:
            call_command("orma_check", "--json", stdout=out)

        assert exited.value.code == 1
        assert json.loads(out.getvalue())["dms"][str(dealer.uuid)].startswith("down")


class TestCheckSaysWhoAndWhy:
    def test_it_names_the_dealer_its_dms_and_why_it_is_down(self):
        dealer = DealerFactory(name="Autohaus Nord", dms_kind="mykaarma", dms_base_url="http://127.0.0.1:1/")
        out = StringIO()

        with pytest.raises(SystemExit):
            call_command("orma_check", stdout=out)

        line = next(line for line in out.getvalue().splitlines() if "Autohaus Nord" in line)
        assert line == (
            f"dms of Autohaus Nord ({dealer.uuid}), mykaarma at http://127.0.0.1:1/: down: connection refused; "
            "circuit closed"
        )

    def test_the_json_names_them_too(self):
        dealer = DealerFactory(name="Autohaus Süd", dms_kind="keyloop", dms_base_url="http://127.0.0.1:1/")
        out = StringIO()

        with pytest.raises(SystemExit):
            call_command("orma_check", "--json", stdout=out)

        result = json.loads(out.getvalue())
        assert result["dms"][str(dealer.uuid)] == "down: connection refused"  # DESIGN §8's key, as it was
        assert result["dealers"][str(dealer.uuid)] == {
            "name": "Autohaus Süd",
            "dmsKind": "keyloop",
            "dmsUrl": "http://127.0.0.1:1/",
            "status": "down",
            "reason": "connection refused",
            "circuit": "closed",
        }
