from typing import Any

from orma.crypto import reencrypt
from orma.management.base import OrmaCommand
from tenancy.models import Dealer


class Command(OrmaCommand):
    help = (
        "Re-encrypt every secret stored encrypted (dealers' DMS passwords) under the first of ORMA_ENCRYPTION_KEYS. "
        "Rotation: put the new key first, keep the old one after it, run this, then drop the old key."
    )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        dealers = reencrypt(Dealer, ["dms_password"])
        return {"dealers": dealers}, [f"Re-encrypted the DMS password of {dealers} dealer(s) under the first key."]
