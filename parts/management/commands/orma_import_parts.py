import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from orma.management.base import OrmaCommand
from parts.importing import COLUMNS, ImportFileError, parts_import
from tenancy.models import Dealer, Department


def _by_uuid(model: Any, value: str, what: str) -> Any:
    try:
        return model.objects.get(uuid=value)
    except (model.DoesNotExist, ValidationError, ValueError):
        raise CommandError(f"unknown {what} {value}") from None


class Command(OrmaCommand):
    help = (
        "Import a parts catalogue CSV into a dealer (upsert by partId), all or nothing: any bad row is reported "
        f"by line number and nothing is imported. Columns: {','.join(COLUMNS)} (optional: discountGroup, "
        "unitOfMeasure); multiple values are separated by |; quantityOnHand goes to --store."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "file", metavar="FILE.csv", help="UTF-8 CSV; its delimiter (',', ';' or tab) is read off the header"
        )
        parser.add_argument("--dealer", required=True, help="the dealer's UUID (required)")
        parser.add_argument(
            "--store", help="UUID of the dealer's department that holds quantityOnHand; default: none (stock untouched)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar; default: a bar on a terminal")

    def handle(self, *args: Any, **options: Any) -> None:
        dealer = _by_uuid(Dealer, options["dealer"], "dealer")
        store = _by_uuid(Department, options["store"], "store") if options["store"] else None
        try:
            result = parts_import(path=options["file"], dealer=dealer, store=store, progress=not options["no_progress"])
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        body = result.as_json()
        if options["json"]:
            self.stdout.write(json.dumps(body, ensure_ascii=False))
            self.json_written = True  # the errors are in it: no second {"error"} object (OrmaCommand.run_from_argv)
        elif not body["errors"]:
            self.stdout.write(f"Imported {result.created} new and {result.updated} updated parts.")
        else:
            for error in body["errors"]:
                self.stdout.write(f"line {error['line']}: {error['issue']}")
        if body["errors"]:
            raise CommandError(f"{len(body['errors'])} bad row(s); nothing was imported")
