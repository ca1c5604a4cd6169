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
        dealers: dict[str, dict[str, str]] = {}
        lines = [f"database: {database}", f"broker: {broker}"]
        if database == "ok":
            for dealer in Dealer.objects.order_by("name", "id"):
                key = str(dealer.uuid)
                dms[key] = adapter_for(dealer).reachability()
                circuits[key] = circuit_state(dealer)
                status, _, reason = dms[key].partition(": ")
                dealers[key] = {
                    "name": dealer.name,
                    "dmsKind": dealer.dms_kind,
                    "dmsUrl": dealer.dms_base_url,
                    "status": status,
                    "reason": reason,
                    "circuit": circuits[key],
                }
                where = f"{dealer.dms_kind} at {dealer.dms_base_url}" if dealer.dms_base_url else dealer.dms_kind
                lines.append(f"dms of {dealer.name} ({key}), {where}: {dms[key]}; circuit {circuits[key]}")
        self._down = any(s.startswith("down") for s in [database, broker, *dms.values()])
        return {"database": database, "broker": broker, "dms": dms, "dmsCircuits": circuits, "dealers": dealers}, lines

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if self._down:
            raise SystemExit(1)
