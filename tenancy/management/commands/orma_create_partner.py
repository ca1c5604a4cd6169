from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.services import GrantSpec, partner_create


class Command(OrmaCommand):
    help = "Create an API partner with its grants; prints the generated secret once (it is not stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--name", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--grant",
            action="append",
            default=[],
            metavar="DEPARTMENT_UUID=scope,scope",
            help="scopes on one department; repeat for more departments",
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        grants = [GrantSpec.parse(text) for text in options["grant"]]
        partner, secret = partner_create(name=options["name"], username=options["username"], grants=grants)
        return {"username": partner.username, "secret": secret}, [
            f"Created partner {partner.username}.",
            f"Secret (shown once, store it now): {secret}",
        ]
