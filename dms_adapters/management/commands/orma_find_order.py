import json
import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from dms_adapters.selectors import order_support_view
from orma.management.base import OrmaCommand


class Command(OrmaCommand):
    help = (
        "Every repair order with this number (of one department, or of all): its ±30-day window, its DMS "
        "state and push, and every DMS attempt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("order_number", metavar="ORDER_NUMBER", help="the order number, exactly as sent (required)")
        parser.add_argument(
            "--department", help="only this department's orders (its UUID); default: every department's"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        department = options["department"]
        try:
            department_uuid = uuid.UUID(department) if department else None
        except ValueError:
            raise CommandError(f"--department {department!r} is not a UUID") from None
        found = order_support_view(order_number=options["order_number"], department_uuid=department_uuid)
        if options["json"]:
            self.stdout.write(json.dumps(found, ensure_ascii=False))
            return
        if not found:
            self.stdout.write(f"No repair order numbered {options['order_number']!r}.")
        for order in found:
            self._print(order)

    def _print(self, order: dict[str, Any]) -> None:
        dms, push = order["dms"], order["push"] or {}
        self.stdout.write(
            f"{order['orderNumber']}  {order['orderUUID']}  department {order['departmentUUID']}\n"
            f"  created {order['createdInstant']}, window {order['window']['from']} .. {order['window']['to']}\n"
            f"  status {order['status']}, version {order['version']}; DMS {dms['status']}"
            f" {dms['orderNumber'] or ''} {json.dumps(dms['errors']) if dms['errors'] else ''}".rstrip()
        )
        if push:
            self.stdout.write(
                f"  push {push['status']}: version {push['version']}, pushed {push['pushedVersion']},"
                f" {push['attempts']} attempt(s) since the last success"
                + (f", next {push['nextAttemptAt']}" if push["nextAttemptAt"] else "")
                + (f", last error: {push['lastError']}" if push["lastError"] else "")
            )
        for attempt in order["attempts"]:
            self.stdout.write(
                f"    #{attempt['number']} v{attempt['version']} {attempt['startedAt']} {attempt['outcome']}"
                f" HTTP {attempt['statusCode']} {attempt['durationMs']} ms {attempt['error'] or ''}".rstrip()
            )
