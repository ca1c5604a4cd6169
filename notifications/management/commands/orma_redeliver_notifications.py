"""``orma_redeliver_notifications``: send webhook deliveries again, each with its own webhook-id (DESIGN §8)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.management.base import CommandParser

from notifications import selectors, services
from notifications.models import DeliveryStatus, Subscription
from orma.errors import DomainError, ErrorCode
from orma.management.base import OrmaCommand


def _since(value: str) -> dt.datetime:
    """A day (yyyy-MM-dd, from its start in UTC) or an ISO 8601 date-time (UTC without an offset)."""
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
        instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return instant.replace(tzinfo=instant.tzinfo or dt.UTC).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise DomainError.of(
            ErrorCode.FIELD_INVALID, f"--since {value!r} is neither a date (yyyy-MM-dd) nor an ISO 8601 date-time"
        ) from None


class Command(OrmaCommand):
    help = (
        "Send webhook deliveries again, now, with a fresh attempt budget and their own webhook-id: those of one "
        "subscription (--subscription) or of all, in one state (--status, default FAILED), created since a day "
        "or instant (--since). A delivery in flight is left alone; a disabled subscription's are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--subscription",
            help="only this subscription's deliveries, by its id (its UUID); default: every subscription's",
        )
        parser.add_argument(
            "--status",
            choices=[status.value for status in services.REDELIVERABLE],
            default=DeliveryStatus.FAILED.value,
            help="only deliveries in this state: "
            + ", ".join(status.value for status in services.REDELIVERABLE)
            + " (default FAILED)",
        )
        parser.add_argument(
            "--since",
            help="only deliveries created at or after this day (yyyy-MM-dd) or ISO 8601 instant; default: any time",
        )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        since = _since(options["since"]) if options["since"] else None
        subscription_id = None
        if options["subscription"]:
            try:
                subscription_uuid = uuid.UUID(options["subscription"])
            except ValueError:
                raise DomainError.of(
                    ErrorCode.FIELD_INVALID, f"--subscription {options['subscription']!r} is not a UUID"
                ) from None
            subscription = Subscription.objects.filter(uuid=subscription_uuid).first()
            if subscription is None:
                raise DomainError.of(ErrorCode.NOT_FOUND, f"no subscription {subscription_uuid}")
            subscription_id = subscription.pk
        deliveries = selectors.deliveries(subscription_id=subscription_id, status=options["status"], since=since)
        # A disabled subscription's deliveries would only fail again: enable (or ping) it first.
        queued = services.deliveries_redeliver(deliveries=deliveries.filter(subscription__enabled=True))
        return {"queued": queued}, [f"Queued {queued} webhook {'delivery' if queued == 1 else 'deliveries'} again."]
