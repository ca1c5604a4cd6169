import datetime as dt
import uuid
from typing import Any

from django.core.management.base import CommandParser

from dms_adapters.selectors import pushes_to_resend
from dms_adapters.services import dms_pushes_requeue
from orders.models import RepairOrder
from orma.errors import DomainError, ErrorCode
from orma.management.base import OrmaCommand
from orma.outbox import OutboxStatus
from tenancy.models import Department

RESENDABLE = (OutboxStatus.FAILED, OutboxStatus.REJECTED, OutboxStatus.PENDING)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError.of(ErrorCode.FIELD_INVALID, f"{what} {value!r} is not a UUID") from None


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError.of(ErrorCode.FIELD_INVALID, f"--since {value!r} is not a date (yyyy-MM-dd)") from None


class Command(OrmaCommand):
    help = (
        "Push orders to their dealer's DMS again, now, with a fresh retry budget: one order (--order), or a "
        "department's orders whose push is FAILED, REJECTED or PENDING (--dms-status narrows it; --since "
        "keeps orders created from that day on). A push in flight is left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--order", help="the order's UUID (this or --department is required); default: none")
        which.add_argument("--department", help="every order of this department (its UUID); default: none")
        parser.add_argument(
            "--dms-status",
            choices=RESENDABLE,
            help=f"only pushes in this state, one of {', '.join(RESENDABLE)} (with --department); default: any",
        )
        parser.add_argument("--since", help="only orders created on or after this day, yyyy-MM-dd; default: any day")

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        since = _day(options["since"]) if options["since"] else None
        if options["order"]:
            order_uuid = _uuid(options["order"], "--order")
            if not RepairOrder.objects.filter(uuid=order_uuid).exists():
                raise DomainError.of(ErrorCode.NOT_FOUND, f"no repair order {order_uuid}")
            pushes = pushes_to_resend(order_uuid=order_uuid, dms_status=options["dms_status"], since=since)
        else:
            department_uuid = _uuid(options["department"], "--department")
            if not Department.objects.filter(uuid=department_uuid).exists():
                raise DomainError.of(ErrorCode.NOT_FOUND, f"no department {department_uuid}")
            pushes = pushes_to_resend(department_uuid=department_uuid, dms_status=options["dms_status"], since=since)
            if options["dms_status"] is None:
                pushes = pushes.filter(status__in=RESENDABLE)
        queued, _in_flight = dms_pushes_requeue(pushes=pushes)
        return {"queued": queued}, [f"Queued {queued} order(s) for the DMS."]
