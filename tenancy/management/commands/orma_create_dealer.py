from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.choices import ALL_BRANDS, DmsKind, DmsMode
from tenancy.services import dealer_create


class Command(OrmaCommand):
    help = "Create a dealer (an enterprise: the parts API's enterpriseId) and print its UUID."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--name", required=True, help="the dealer's name (required; unique unless --allow-duplicate)"
        )
        parser.add_argument("--country", default="DE", help="ISO 3166-1 alpha-2 country code; default: %(default)s")
        parser.add_argument(
            "--brands",
            default=",".join(ALL_BRANDS),
            help=f"comma-separated brands it services, of {', '.join(ALL_BRANDS)}; default: all of them",
        )
        parser.add_argument(
            "--dms-kind",
            default=DmsKind.SANDBOX,
            choices=DmsKind.values,
            help=f"the DMS protocol, one of {', '.join(DmsKind.values)}; default: %(default)s",
        )
        parser.add_argument("--dms-url", default="", help="the DMS's base URL (required unless sandbox); default: none")
        parser.add_argument("--dms-username", default="", help="Basic auth username at the DMS; default: none")
        parser.add_argument("--dms-password", default="", help="Basic auth password at the DMS; default: none")
        parser.add_argument(
            "--dms-mode",
            default=DmsMode.SYNC,
            choices=DmsMode.values,
            help=f"how the DMS answers, one of {', '.join(DmsMode.values)}; default: %(default)s",
        )
        parser.add_argument(
            "--allow-duplicate",
            action="store_true",
            help="create it even when a dealer of that name exists; default: refuse",
        )

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
            allow_duplicate=options["allow_duplicate"],
        )
        return {"dealerUUID": str(dealer.uuid)}, [f"Created dealer {dealer.name}: {dealer.uuid}"]
