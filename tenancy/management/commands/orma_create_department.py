import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.choices import DepartmentType
from tenancy.models import Dealer
from tenancy.services import department_create


class Command(OrmaCommand):
    help = "Create a department (a store: the parts API's storeId) of a dealer and print its UUID."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--dealer", required=True, help="the dealer's UUID (required)")
        parser.add_argument(
            "--name",
            required=True,
            help="the department's name (required; unique in the dealer unless --allow-duplicate)",
        )
        parser.add_argument(
            "--type",
            default=DepartmentType.SERVICE,
            choices=DepartmentType.values,
            help=f"one of {', '.join(DepartmentType.values)}; default: %(default)s",
        )
        parser.add_argument("--dms-id", default="", help="the department's id in the DMS; default: its own UUID")
        parser.add_argument(
            "--allow-duplicate",
            action="store_true",
            help="create it even when the dealer has a department of that name; default: refuse",
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        try:
            dealer = Dealer.objects.get(uuid=uuid.UUID(options["dealer"]))
        except (ValueError, Dealer.DoesNotExist):
            raise ValidationError(f"unknown dealer {options['dealer']!r}") from None
        department = department_create(
            dealer=dealer,
            name=options["name"],
            type=options["type"],
            dms_id=options["dms_id"],
            allow_duplicate=options["allow_duplicate"],
        )
        return {"departmentUUID": str(department.uuid)}, [f"Created department {department}: {department.uuid}"]
