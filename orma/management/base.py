"""Base of OrMa's support commands: ``--json`` output and one clear line on a bad argument."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser


def validation_message(error: ValidationError) -> str:
    return "; ".join(error.messages)


class OrmaCommand(BaseCommand):
    """Subclasses implement ``run(**options)`` returning the ``--json`` dict and the human-readable lines."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result, lines = self.run(**options)
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
        else:
            for line in lines:
                self.stdout.write(line)

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        raise NotImplementedError
