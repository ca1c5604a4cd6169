"""The OEM operator's tenancy pages: scopes and brands as checkboxes, secrets never shown but once, a
write-only DMS password."""

from __future__ import annotations

import pytest

from orma.crypto import secret_matches
from tenancy.models import Dealer, Grant, Partner
from tests.admin_world import superuser

from .factories import DealerFactory, DepartmentFactory, GrantFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    client.force_login(superuser())
    return client


def management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


class TestPartners:
    def test_the_secret_is_never_on_a_page(self, root) -> None:
        partner = PartnerFactory()
        GrantFactory(partner=partner)

        for path in ("/admin/tenancy/partner/", f"/admin/tenancy/partner/{partner.pk}/change/"):
            page = root.get(path).content.decode()
            assert partner.secret not in page and partner.secret_hash not in page

    def test_rotating_shows_the_new_secret_once_and_the_old_one_stops_working(self, root) -> None:
        partner = PartnerFactory()
        old = partner.secret

        response = root.post(
            "/admin/tenancy/partner/", {"action": "rotate_secret", "_selected_action": [partner.pk], "index": 0}
        )

        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
        (shown,) = [secret for _, secret in response.context["rotated"]]
        partner.refresh_from_db()
        assert secret_matches(shown, partner.secret_hash) and not secret_matches(old, partner.secret_hash)
        assert shown in response.content.decode()
        assert shown not in root.get(f"/admin/tenancy/partner/{partner.pk}/change/").content.decode()

    def test_a_partner_added_here_gets_a_generated_secret_shown_once(self, root) -> None:
        data = {"name": "Importer", "username": "importer", "is_active": "on", "rate_limit_per_minute": ""}
        response = root.post("/admin/tenancy/partner/add/", {**data, **management("grants")})

        assert response.status_code == 200
        (shown,) = [secret for _, secret in response.context["rotated"]]
        assert secret_matches(shown, Partner.objects.get(username="importer").secret_hash)
        assert len(shown) >= 43  # 256 bits, base64

    def test_scopes_are_checkboxes(self, root) -> None:
        department = DepartmentFactory()
        partner = PartnerFactory()
        page = root.get(f"/admin/tenancy/partner/{partner.pk}/change/").content.decode()
        assert 'type="checkbox" name="grants-__prefix__-scopes" value="order.read"' in page

        data = {"name": partner.name, "username": partner.username, "is_active": "on", "rate_limit_per_minute": ""}
        data |= management("grants", total=1) | {"grants-0-department": department.pk}
        data["grants-0-scopes"] = ["order.read", "parts.read"]
        response = root.post(f"/admin/tenancy/partner/{partner.pk}/change/", data)

        assert response.status_code == 302, response.context and response.context["errors"]
        assert Grant.objects.get(partner=partner).scopes == ["order.read", "parts.read"]

    def test_an_unknown_scope_is_refused(self, root) -> None:
        grant = GrantFactory()
        data = {"partner": grant.partner_id, "department": grant.department_id, "scopes": ["order.read", "root"]}

        response = root.post(f"/admin/tenancy/grant/{grant.pk}/change/", data)

        assert response.status_code == 200 and "scopes" in response.context["adminform"].form.errors


class TestDealers:
    def dealer_form(self, dealer: Dealer, **changes: object) -> dict[str, object]:
        data = {
            "name": dealer.name,
            "country": dealer.country,
            "brands": dealer.brands,
            "dms_kind": dealer.dms_kind,
            "dms_mode": dealer.dms_mode,
            "dms_base_url": dealer.dms_base_url,
            "dms_username": dealer.dms_username,
            "new_dms_password": "",
            "parts_order_retention_days": dealer.parts_order_retention_days,
            **management("departments"),
        }
        data.update(changes)
        return data

    def test_the_dms_password_is_write_only(self, root) -> None:
        dealer = DealerFactory(dms_password="s3cret-DMS-pw")

        page = root.get(f"/admin/tenancy/dealer/{dealer.pk}/change/").content.decode()
        assert "s3cret-DMS-pw" not in page

        response = root.post(f"/admin/tenancy/dealer/{dealer.pk}/change/", self.dealer_form(dealer))
        assert response.status_code == 302
        dealer.refresh_from_db()
        assert dealer.dms_password == "s3cret-DMS-pw"  # an empty field keeps it

        root.post(f"/admin/tenancy/dealer/{dealer.pk}/change/", self.dealer_form(dealer, new_dms_password="n3w"))
        dealer.refresh_from_db()
        assert dealer.dms_password == "n3w"

        root.post(f"/admin/tenancy/dealer/{dealer.pk}/change/", self.dealer_form(dealer, clear_dms_password="on"))
        dealer.refresh_from_db()
        assert dealer.dms_password == ""

    def test_brands_are_checkboxes(self, root) -> None:
        dealer = DealerFactory()
        page = root.get(f"/admin/tenancy/dealer/{dealer.pk}/change/").content.decode()
        assert 'type="checkbox" name="brands" value="SKODA"' in page

        root.post(f"/admin/tenancy/dealer/{dealer.pk}/change/", self.dealer_form(dealer, brands=["VW", "AUDI"]))

        dealer.refresh_from_db()
        assert dealer.brands == ["VW", "AUDI"]
