from typing import Any

from orders.models import Dealer
from orma import health
from orma.management.base import OrmaCommand


class Command(OrmaCommand):
    help = "Check the database, the broker and each dealer's DMS; exits 1 when anything is down."

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        from dms_adapters.reachability import dms_status

        database = health.database_status()
        broker = health.broker_status()
        dms: dict[str, str] = {}
        if database == "ok":
            dms = {
                str(dealer.uuid): dms_status(dealer)
                for dealer in Dealer.objects.only("uuid", "dms_kind", "dms_base_url")
            }
        self._down = any(s.startswith("down") for s in [database, broker, *dms.values()])
        lines = [f"database: {database}", f"broker: {broker}", *(f"dms {uuid}: {s}" for uuid, s in dms.items())]
        return {"database": database, "broker": broker, "dms": dms}, lines

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if self._down:
            raise SystemExit(1)
