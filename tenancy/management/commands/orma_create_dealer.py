from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.choices import ALL_BRANDS, DmsKind, DmsMode
from tenancy.services import dealer_create


class Command(OrmaCommand):
    help = "Create a dealer (an enterprise) and print its UUID."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", default="DE", help="ISO 3166-1 alpha-2 (default DE)")
        parser.add_argument("--brands", default=",".join(ALL_BRANDS), help="comma-separated brand codes")
        parser.add_argument("--dms-kind", default=DmsKind.SANDBOX, choices=DmsKind.values)
        parser.add_argument("--dms-url", default="")
        parser.add_argument("--dms-username", default="")
        parser.add_argument("--dms-password", default="")
        parser.add_argument("--dms-mode", default=DmsMode.SYNC, choices=DmsMode.values)

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        dealer = dealer_create(
            name=options["name"],
            country=options["country"],
            brands=[b.strip().upper() for b in options["brands"].split(",") if b.strip()],
            dms_kind=options["dms_kind"],
            dms_base_url=options["dms_url"],
            dms_username=options["dms_username"],
            dms_password=options["dms_password"],
            dms_mode=options["dms_mode"],
        )
        return {"dealerUUID": str(dealer.uuid)}, [f"Created dealer {dealer.name}: {dealer.uuid}"]
