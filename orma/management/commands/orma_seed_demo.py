from typing import Any

from django.core.management.base import CommandParser

from orma.demo import seed_demo
from orma.management.base import OrmaCommand


class Command(OrmaCommand):
    help = "Create the demo dealer, departments, partner and users (idempotent) and print how to use them."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where the printed URLs and curls point; default: %(default)s",
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        demo = seed_demo(base_url=options["base_url"])
        return demo.result, ["OrMa demo data is ready.", *demo.lines]
