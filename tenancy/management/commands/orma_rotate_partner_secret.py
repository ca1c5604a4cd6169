from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.services import MAX_GRACE_HOURS, partner_rotate_secret


class Command(OrmaCommand):
    help = (
        "Give a partner a new secret (printed once); the old one works for --grace-hours, then never again. "
        "Refused while an earlier rotation's grace period runs, unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--username", required=True, help="the partner's username (required)")
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=0.0,
            help=f"hours the old secret keeps working, 0 to {MAX_GRACE_HOURS} (30 days); default: %(default)g "
            "(it stops at once)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="rotate even inside an earlier rotation's grace period, ending that old secret now; default: refuse",
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        partner, secret, valid_until = partner_rotate_secret(
            username=options["username"], grace_hours=options["grace_hours"], force=options["force"]
        )
        until = valid_until.isoformat() if valid_until else None
        return {"username": partner.username, "secret": secret, "oldSecretValidUntil": until}, [
            f"New secret for {partner.username} (shown once): {secret}",
            f"The old secret works until {until}." if until else "The old secret no longer works.",
        ]
