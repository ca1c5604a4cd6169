from typing import Any

from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from parts.services import parts_orders_purge


class Command(OrmaCommand):
    help = "Delete closed parts orders whose dealer's retention period has passed (they then answer 404)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="only count what would be purged; default: purge")

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        purged = parts_orders_purge(dry_run=options["dry_run"])
        verb = "Would purge" if options["dry_run"] else "Purged"
        return {"purged": purged}, [f"{verb} {purged} closed parts order(s)."]
