from typing import Any

from django.core.management.base import CommandError, CommandParser

from orma.lockout import admin_lockout_lift
from orma.management.base import OrmaCommand


class Command(OrmaCommand):
    help = "Lift an admin login lockout: forget the failed logins of --username, of --address, or of both together."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--username", help="the admin login's username (default: none; any username)")
        parser.add_argument(
            "--address", help="the client address the lockout names, IPv4 or IPv6 (default: none; any address)"
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        if not options["username"] and not options["address"]:
            raise CommandError("name --username, --address, or both")
        lifted = admin_lockout_lift(username=options["username"], address=options["address"])
        return {"lifted": lifted}, [f"Forgot {lifted} failed-login record(s); the login is open again."]
