from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.services import partner_rotate_secret


class Command(OrmaCommand):
    help = "Give a partner a new secret (printed once); the old one works for --grace-hours, then never again."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--username", required=True)
        parser.add_argument("--grace-hours", type=float, default=0.0)

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        partner, secret, valid_until = partner_rotate_secret(
            username=options["username"], grace_hours=options["grace_hours"]
        )
        until = valid_until.isoformat() if valid_until else None
        return {"username": partner.username, "secret": secret, "oldSecretValidUntil": until}, [
            f"New secret for {partner.username} (shown once): {secret}",
            f"The old secret works until {until}." if until else "The old secret no longer works.",
        ]
