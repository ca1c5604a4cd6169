from typing import Any

from dms_adapters.registry import adapter_for
from dms_adapters.services import circuit_state
from orma import health
from orma.management.base import OrmaCommand
from tenancy.models import Dealer


class Command(OrmaCommand):
    help = (
        "Check the database, the broker and each dealer's DMS (reachable? paused by its circuit breaker?); "
        "exits 1 when anything is down."
    )

    def run(self, **options: Any) -> tuple[dict[str, Any], list[str]]:
        database = health.database_status()
        broker = health.broker_status()
        dms: dict[str, str] = {}
        circuits: dict[str, str] = {}
        if database == "ok":
            for dealer in Dealer.objects.order_by("name", "id"):
                dms[str(dealer.uuid)] = adapter_for(dealer).reachability()
                circuits[str(dealer.uuid)] = circuit_state(dealer)
        self._down = any(s.startswith("down") for s in [database, broker, *dms.values()])
        lines = [
            f"database: {database}",
            f"broker: {broker}",
            *(f"dms {uuid}: {state}; circuit {circuits[uuid]}" for uuid, state in dms.items()),
        ]
        return {"database": database, "broker": broker, "dms": dms, "dmsCircuits": circuits}, lines

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if self._down:
            raise SystemExit(1)
