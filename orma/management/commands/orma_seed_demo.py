import json
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

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
    """A curl that creates a repair order by VIN with a service package; a fresh number on every run."""
    now = timezone.now()
    order = {
        "order": {
            "type": "RO",
            "header": {
                "orderNumber": f"DEMO-{now:%Y%m%d-%H%M%S}",
                "status": "OPENED",
                "advisorNumber": "ADV-1",
                "createDate": f"{now:%Y-%m-%d}",
                "createTime": f"{now:%H:%M:%S}",
                "description": "Oil service",
            },
            "customer": {"uuid": demo.customers[0]},
            "vehicle": {"vin": "WVWZZZCDZMW000101"},
            "jobs": [
                {
                    "jobNumberString": "A",
                    "laborOpCode": "OIL",
                    "laborType": "C",
                    "packages": [{"packageCode": "OIL-SERVICE"}],
                    "ccc": {"complaint": "Service due"},
                }
            ],
        }
    }
    return [
        f"  curl -s -X PUT -u '{demo.partner_username}:{demo.partner_secret}' "
        f"-H 'Content-Type: application/json' '{base}/order/v2/department/{demo.service.uuid}/order' "
        f"-d '{json.dumps(order, separators=(',', ':'))}'",
        f"  curl -s -u '{demo.partner_username}:{demo.partner_secret}' "
        f"'{base}/order/v2/department/{demo.service.uuid}/order?limit=5'",
    ]
