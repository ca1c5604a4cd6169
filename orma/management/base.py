"""Base of OrMa's support commands: ``--json`` output, and refusals a person or a script can read.

A refusal (a rule's ``ValidationError``, a ``CommandError``, a bad argument) is one line on stderr and exit
code 1, or under ``--json`` one object ``{"error": "..."}`` on stdout and the same exit code, so a script
reading stdout always gets JSON. Warnings (something done that may be a mistake) go to stderr, and under
``--json`` beside the result as ``"warnings": [...]`` (only when there are any).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser, handle_default_options
from django.db import DatabaseError, connections


def validation_message(error: ValidationError) -> str:
    return "; ".join(error.messages)


class OrmaCommand(BaseCommand):
    """Subclasses implement ``run(**options)`` returning the ``--json`` dict and the human-readable lines;
    ``self.warn(text)`` records a warning. A command that prints its own JSON result, errors included,
    before refusing sets ``json_written`` so no second object follows it."""

    json_written = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help='print the result as one JSON object (an error as {"error": ...}, exit code 1); default: text',
        )

    def warn(self, text: str) -> None:
        """Say that something was done that may be a mistake (stderr; under --json also in "warnings")."""
        self._warnings.append(text)
        self.stderr.write(f"warning: {text}")

    def handle(self, *args: Any, **options: Any) -> None:
        self._warnings: list[str] = []
        try:
            result, lines = self.run(**options)
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        if options["json"]:
            if self._warnings:
                result = {**result, "warnings": self._warnings}
            self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
        else:
            for line in lines:
                self.stdout.write(line)

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        raise NotImplementedError

    def run_from_argv(self, argv: list[str]) -> None:
        """As Django's, but under ``--json`` every refusal, a bad argument included, is ``{"error"}`` on stdout."""
        if "--json" not in argv[2:]:
            super().run_from_argv(argv)
            return
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        parser.called_from_command_line = False  # argparse's errors raise CommandError instead of exiting
        try:
            options = parser.parse_args(argv[2:])
            cmd_options = vars(options)
            args = cmd_options.pop("args", ())
            handle_default_options(options)
            self.execute(*args, **cmd_options)
        except CommandError as error:
            if self.json_written:
                sys.exit(error.returncode or 1)
            self._json_error(str(error), error.returncode)
        except DatabaseError as error:
            self._json_error(f"the database refused: {error}".strip(), 1)
        finally:
            try:
                connections.close_all()
            except Exception:  # closing is best effort, as in Django's own run_from_argv
                pass

    def _json_error(self, message: str, returncode: int) -> None:
        self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
        sys.exit(returncode or 1)
