import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser

from orma.management.base import OrmaCommand
from tenancy.choices import DepartmentType
from tenancy.models import Dealer
from tenancy.services import department_create


class Command(OrmaCommand):
    help = "Create a department (a store) of a dealer and print its UUID."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--dealer", required=True, help="the dealer's UUID")
        parser.add_argument("--name", required=True)
        parser.add_argument("--type", default=DepartmentType.SERVICE, choices=DepartmentType.values)
        parser.add_argument("--dms-id", default="", help="the department's id in the DMS (default: its UUID)")

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        try:
            dealer = Dealer.objects.get(uuid=uuid.UUID(options["dealer"]))
        except (ValueError, Dealer.DoesNotExist):
            raise ValidationError(f"unknown dealer {options['dealer']!r}") from None
        department = department_create(
            dealer=dealer, name=options["name"], type=options["type"], dms_id=options["dms_id"]
        )
        return {"departmentUUID": str(department.uuid)}, [f"Created department {department}: {department.uuid}"]
