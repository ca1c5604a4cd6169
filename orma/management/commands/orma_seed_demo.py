from typing import Any

from django.core.management.base import CommandParser

from orma.demo import ADMIN_USERNAME, STAFF_USERNAME, seed_demo
from orma.management.base import OrmaCommand


class Command(OrmaCommand):
    help = "Create the demo dealer, departments, partner and users (idempotent) and print how to use them."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the printed curl points")

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        demo = seed_demo()
        base = options["base_url"].rstrip("/")
        result = {
            "dealerUUID": str(demo.dealer.uuid),
            "departments": {"service": str(demo.service.uuid), "parts": str(demo.parts.uuid)},
            "customers": demo.customers,
            "parts": demo.part_ids,
            "partner": {"username": demo.partner_username, "secret": demo.partner_secret},
            "admin": {"username": ADMIN_USERNAME, "password": demo.admin_password},
        }
        lines = [
            "OrMa demo data is ready.",
            f"  Admin:        {base}/admin/  user {ADMIN_USERNAME}  password {demo.admin_password}",
            f"  Dealer staff: {base}/admin/  user {STAFF_USERNAME}  password {demo.staff_password}",
            f"  Partner API:  user {demo.partner_username}  secret {demo.partner_secret}",
            f"  API docs:     {base}/api/docs/",
            f"  Service department {demo.service.uuid}, parts department {demo.parts.uuid}",
            "",
            "Try it:",
            *demo_curl(base, demo),
        ]
        return result, lines


def demo_curl(base: str, demo: Any) -> list[str]:
    return [
        f"  curl -s -u '{demo.partner_username}:{demo.partner_secret}' "
        f"'{base}/order/v2/department/{demo.service.uuid}/order?limit=5'",
    ]
