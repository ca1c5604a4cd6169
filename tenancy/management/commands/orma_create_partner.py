from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.choices import ALL_SCOPES
from tenancy.services import GrantSpec, partner_create


class Command(OrmaCommand):
    help = "Create an API partner with its grants; prints the generated secret once (it is not stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--name", required=True, help="the partner's name (required)")
        parser.add_argument(
            "--username",
            required=True,
            help="its HTTP Basic username (required; no ':', spaces or control characters)",
        )
        parser.add_argument(
            "--grant",
            action="append",
            default=[],
            metavar="DEPARTMENT_UUID=scope,scope",
            help=f"scopes on one department, of {', '.join(ALL_SCOPES)}; repeat for more departments; "
            "default: none (a partner without grants can call nothing: warned about)",
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        grants = [GrantSpec.parse(text) for text in options["grant"]]
        partner, secret = partner_create(name=options["name"], username=options["username"], grants=grants)
        if not grants:
            self.warn(f"partner {partner.username} holds no grant: every call answers 404 until it gets one (--grant)")
        return {"username": partner.username, "secret": secret}, [
            f"Created partner {partner.username}.",
            f"Secret (shown once, store it now): {secret}",
        ]
