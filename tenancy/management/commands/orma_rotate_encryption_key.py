from typing import Any

from orma.crypto import reencrypt
from orma.management.base import OrmaCommand
from tenancy.models import Dealer


class Command(OrmaCommand):
    help = (
        "Re-encrypt every secret stored encrypted (DMS passwords, webhook signing secrets) under the first of "
        "ORMA_ENCRYPTION_KEYS. "
        "Rotation: put the new key first, keep the old one after it, run this, then drop the old key."
    )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        from notifications.models import Subscription  # an integration's secrets, kept the same way

        dealers = reencrypt(Dealer, ["dms_password"])
        subscriptions = reencrypt(Subscription, ["secret", "previous_secret"])
        return {"dealers": dealers, "subscriptions": subscriptions}, [
            f"Re-encrypted the DMS password of {dealers} dealer(s) and the signing secrets of {subscriptions} "
            "subscription(s) under the first key."
        ]
