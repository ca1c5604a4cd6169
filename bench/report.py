"""The pure half of ``make bench``: issue 12's goals, the rows built from each script's results, the table.

Nothing here starts a process or opens a connection (``bench/run.py`` does), so it is unit-tested on its
own (``bench/tests/``). Every verdict is computed here, from the figures, against the goals stated here: the
scripts' own verdicts are not trusted, so one table can never mix two definitions of a goal.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Goal:
    """A threshold a figure must meet: ``figure <op> value`` (``unit`` only for printing)."""

    op: str
    value: float
    unit: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPERATORS:
            raise ValueError(f"unknown comparison {self.op!r}")

    def met(self, figure: float | None) -> bool | None:
        """Whether ``figure`` meets the goal; None when there is no figure (the row was not measured)."""
        if figure is None:
            return None
        return _OPERATORS[self.op](figure, self.value)

    def text(self) -> str:
        if self.unit == "bool":
            return "yes"
        if self.unit == "%":
            return f"{self.op} {self.value:g} %"
        return f"{self.op} {format_figure(self.value, self.unit)}"


def format_figure(value: float | None, unit: str) -> str:
    """A figure as the table shows it: ``0.153x``, ``7,912 rows/s``, ``42.1 ms``, ``+3.2 %``."""
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.3f}x"
    if unit == "%":
        return f"{value:+.1f} %"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit in ("ms", "MiB"):
        return f"{value:,.1f} {unit}"
    if unit == "bool":
        return "yes" if value else "no"
    return f"{value:g} {unit}".strip()


@dataclass(frozen=True)
class RowSpec:
    """One row of the table: what it measures, which script measures it, and its goal (and moonshot)."""

    key: str
    name: str
    endpoint: str
    source: str  # the script: bench/<source>.py, results in bench/results/<source>.json
    goal: Goal
    moonshot: Goal | None = None
    issue: str = "12"


# Issue 12's table (and issue 10's remaining figures), in its order. The goals are the milestone's, the
# moonshot beside each; ratios "x bare" divide by the yardstick (bench/yardstick, a startproject-default
# Django with one DRF APIView, served by its own gunicorn in the same run).
ROW_SPECS: tuple[RowSpec, ...] = (
    RowSpec(
        "create",
        "create repair order (seed 001 sample, 1 job), x bare",
        "PUT /order/v2/department/{id}/order",
        "orders",
        Goal(">=", 0.15, "x"),
        Goal(">=", 0.30, "x"),
    ),
    RowSpec(
        "create_one_vs_spread",
        "creates in ONE department vs spread over 8",
        "PUT order: 1 department / 8 departments",
        "orders",
        Goal(">=", 0.8, "x"),
        Goal(">=", 1.0, "x"),
    ),
    RowSpec(
        "read",
        "read one repair order, x bare",
        "GET /order/v2/department/{id}/order/{uuid}",
        "orders",
        Goal(">=", 0.5, "x"),
        Goal(">=", 0.7, "x"),
    ),
    RowSpec(
        "auth",
        "authenticated no-op view vs unauthenticated",
        "GET /bench/auth / GET /bench/bare",
        "auth",
        Goal(">=", 0.9, "x"),
        Goal(">=", 0.95, "x"),
    ),
    RowSpec(
        "parts_order",
        "place a parts order of 10 lines (different parts), x bare",
        "POST /parts-api/{dealer}/{store}/v1/parts-orders",
        "parts",
        Goal(">=", 0.10, "x"),
        Goal(">=", 0.20, "x"),
    ),
    RowSpec(
        "basket",
        "price & availability: basket of 200 vs one part (p50)",
        "POST / GET .../v1/price-availability",
        "parts",
        Goal("<=", 3.0, "x"),
        Goal("<=", 2.0, "x"),
    ),
    RowSpec(
        "import_rate",
        "orma_import_parts on PostgreSQL, 1M rows: rows/s",
        "manage.py orma_import_parts",
        "parts",
        Goal(">=", 25_000, "rows/s"),
        Goal(">=", 50_000, "rows/s"),
    ),
    RowSpec(
        "import_rss",
        "orma_import_parts, 1M rows: peak RSS",
        "manage.py orma_import_parts",
        "parts",
        Goal("<", 300, "MiB"),
    ),
    RowSpec(
        "create_p99_half_load",
        "create p99 at half of peak (open loop, Poisson)",
        "PUT /order/v2/department/{id}/order",
        "orders",
        Goal("<", 50, "ms"),
        Goal("<", 25, "ms"),
    ),
    RowSpec(
        "memory",
        "memory: worker RSS growth, 5 min of creates + reads",
        "PUT order + GET order/{uuid}",
        "memory",
        Goal("<", 10, "%"),
    ),
    RowSpec(
        "window_index_scan",
        "±30-day lookup at 1M orders: index scan on ro_window",
        "orders.selectors.repair_order_conflict",
        "orders",
        Goal(">=", 1, "bool"),
        issue="earlier",
    ),
    RowSpec(
        "window_latency",
        "create at 1M orders vs at 1k orders (p50)",
        "PUT /order/v2/department/{id}/order",
        "orders",
        Goal("<=", 1.2, "x"),
        issue="earlier",
    ),
    RowSpec(
        "dms_outbox_p99",
        "DMS outbox's own time on a create, p99",
        "in-process create",
        "dms",
        Goal("<=", 2, "ms"),
        issue="9",
    ),
    RowSpec(
        "dms_sync_p50",
        "DMS create -> SYNCED, p50",
        "PUT order -> worker -> loopback DMS",
        "dms",
        Goal("<", 200, "ms"),
        issue="9",
    ),
    RowSpec(
        "dms_sync_p99",
        "DMS create -> SYNCED, p99",
        "PUT order -> worker -> loopback DMS",
        "dms",
        Goal("<", 1000, "ms"),
        issue="9",
    ),
    RowSpec(
        "webhooks_throughput",
        "webhook deliveries/s vs a plain requests.post loop",
        "webhooks worker -> loopback endpoint",
        "webhooks",
        Goal(">=", 0.5, "x"),
        issue="10",
    ),
    RowSpec(
        "webhooks_first_attempt_p99",
        "webhook commit -> first attempt, p99",
        "webhooks worker",
        "webhooks",
        Goal("<=", 200, "ms"),
        issue="10",
    ),
    RowSpec(
        "webhooks_create_added_p99",
        "webhook events added to a create, p99",
        "in-process create",
        "webhooks",
        Goal("<=", 2, "ms"),
        issue="10",
    ),
    RowSpec(
        "webhooks_isolation",
        "healthy partner's p99 beside a hanging endpoint",
        "webhooks worker, 2 partners",
        "webhooks",
        Goal("<=", 1.10, "x"),
        issue="10",
    ),
)

SOURCES: tuple[str, ...] = tuple(dict.fromkeys(spec.source for spec in ROW_SPECS))


@dataclass
class Figures:
    """What a results file says about one row: the figure the goal judges, and what goes beside it."""

    figure: float | None
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    sql: float | None = None
    note: str = ""


@dataclass
class Row:
    """A row of the table and of ``bench/results.json``."""

    key: str
    name: str
    endpoint: str
    source: str
    issue: str
    unit: str
    ratio: float | None
    value: float | None
    rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    sql: float | None
    goal: str
    moonshot: str | None
    met: bool | None  # None: not measured
    moonshot_met: bool | None
    note: str = ""
    goal_threshold: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --- figures of each row, from its script's results -------------------------------------------------


def _get(data: Mapping[str, Any], *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or a KeyError naming the whole path (a results file of another shape)."""
    node: Any = data
    for step, key in enumerate(path):
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError("/".join(path[: step + 1]))
        node = node[key]
    return node


def _load_figures(load: Mapping[str, Any], view: str) -> dict[str, float]:
    figures = _get(load, view)
    return {"rps": figures["requests_per_second"], "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"]}


def figures_orders(data: Mapping[str, Any]) -> dict[str, Figures]:
    load, queries = _get(data, "load"), _get(data, "queries")
    create_sql = _get(queries, "create", "queries")
    spread = _load_figures(load, "create_spread")
    half = _get(data, "half_load")
    latency = _get(data, "window", "latency")
    explain = _get(data, "window", "explain", "large")
    return {
        "create": Figures(_get(load, "ratio", "create"), **_load_figures(load, "create"), sql=create_sql),
        "create_one_vs_spread": Figures(
            _get(load, "one_to_spread"),
            **_load_figures(load, "create"),
            sql=create_sql,
            note=f"spread over 8: {spread['rps']:.1f} req/s",
        ),
        "read": Figures(
            _get(load, "ratio", "read"), **_load_figures(load, "read"), sql=_get(queries, "read", "queries")
        ),
        "create_p99_half_load": Figures(
            _get(half, "p99_ms"),
            rps=_get(half, "achieved_requests_per_second"),
            p50_ms=_get(half, "p50_ms"),
            p99_ms=_get(half, "p99_ms"),
            sql=create_sql,
            note=f"peak {_get(half, 'peak_requests_per_second'):.1f} req/s just before",
        ),
        "window_index_scan": Figures(
            1.0 if explain["index_scan_on_ro_window"] and not explain["seq_scan"] else 0.0,
            note=f"execution {explain.get('execution_ms')} ms at {_get(data, 'window', 'large_orders'):,} orders",
        ),
        "window_latency": Figures(
            _get(latency, "ratio_large_to_small", "p50_ms"),
            p50_ms=_get(latency, "large", "p50_ms"),
            p99_ms=_get(latency, "large", "p99_ms"),
            sql=_get(queries, "create_in_large_department", "queries"),
            note="sequential creates",
        ),
    }


def figures_auth(data: Mapping[str, Any]) -> dict[str, Figures]:
    auth = _get(data, "auth")
    profile = data.get("profile") or {}
    sql = profile.get("auth", {}).get("queries_per_request")
    return {
        "auth": Figures(
            _get(data, "ratio"),
            rps=auth["requests_per_second"],
            p50_ms=auth["p50_ms"],
            p99_ms=auth["p99_ms"],
            sql=sql,
            note=f"unauthenticated {_get(data, 'bare', 'requests_per_second'):.1f} req/s",
        )
    }


def figures_parts(data: Mapping[str, Any]) -> dict[str, Figures]:
    load = _get(data, "load")
    queries = data.get("queries") or {}
    imported = _get(data, "import", "create")
    rows = imported["created"] + imported["updated"]
    return {
        "parts_order": Figures(_get(load, "order_ratio"), **_load_figures(load, "order"), sql=queries.get("order")),
        "basket": Figures(
            _get(load, "basket_p50_ratio"),
            **_load_figures(load, "basket"),
            sql=queries.get("basket"),
            note=f"one part: p50 {_get(load, 'single', 'p50_ms'):.2f} ms",
        ),
        "import_rate": Figures(imported["rows_per_second"], note=f"{rows:,} rows in {imported['seconds']:.1f} s"),
        "import_rss": Figures(imported["peak_rss_mib"], note=f"{rows:,} rows"),
    }


def figures_memory(data: Mapping[str, Any]) -> dict[str, Figures]:
    load = _get(data, "load")
    workers = _get(data, "workers")
    return {
        "memory": Figures(
            _get(data, "max_growth") * 100,
            rps=load["requests_per_second"],
            p50_ms=load["p50_ms"],
            p99_ms=load["p99_ms"],
            note=", ".join(
                f"{w['rss_after_warmup_kib'] / 1024:.0f}->{w['rss_end_kib'] / 1024:.0f} MiB" for w in workers
            ),
        )
    }


def figures_dms(data: Mapping[str, Any]) -> dict[str, Figures]:
    sync = _get(data, "latency", "sync_ms")
    pushes = f"{_get(data, 'throughput', 'pushes_per_second'):.0f} pushes/s"
    return {
        "dms_outbox_p99": Figures(_get(data, "outbox_cost", "outbox_own_ms", "p99")),
        "dms_sync_p50": Figures(sync["p50"], p50_ms=sync["p50"], p99_ms=sync["p99"], note=pushes),
        "dms_sync_p99": Figures(sync["p99"], p50_ms=sync["p50"], p99_ms=sync["p99"], note=pushes),
    }


def figures_webhooks(data: Mapping[str, Any]) -> dict[str, Figures]:
    throughput, first = _get(data, "throughput"), _get(data, "first_attempt_ms")
    added, isolation = _get(data, "create_added_ms"), _get(data, "isolation")
    return {
        "webhooks_throughput": Figures(
            throughput["ratio"],
            rps=throughput["per_second"],
            note=f"plain requests.post {throughput['plain_per_second']:.0f}/s",
        ),
        "webhooks_first_attempt_p99": Figures(first["p99"], p50_ms=first["p50"], p99_ms=first["p99"]),
        "webhooks_create_added_p99": Figures(added["p99"], p50_ms=added["p50"], p99_ms=added["p99"]),
        "webhooks_isolation": Figures(
            isolation["p99_ratio"],
            p99_ms=_get(isolation, "disturbed_ms", "p99"),
            note=f"alone p99 {_get(isolation, 'undisturbed_ms', 'p99'):.0f} ms",
        ),
    }


FIGURES: dict[str, Callable[[Mapping[str, Any]], dict[str, Figures]]] = {
    "orders": figures_orders,
    "auth": figures_auth,
    "parts": figures_parts,
    "memory": figures_memory,
    "dms": figures_dms,
    "webhooks": figures_webhooks,
}


def build_rows(results: Mapping[str, Mapping[str, Any] | None], problems: Mapping[str, str] | None = None) -> list[Row]:
    """Every row of ROW_SPECS, with the figures of ``results`` ({source: its results JSON, or None}).

    A source without results (it did not run, or failed), or whose results lack a row's figures, gives
    that row no figure and ``met`` None, with the reason in its note: never a verdict without a figure.
    """
    problems = dict(problems or {})
    figures: dict[str, Figures] = {}
    for source in SOURCES:
        data = results.get(source)
        if data is None:
            problems.setdefault(source, "not run")
            continue
        try:
            figures.update(FIGURES[source](data))
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            problems[source] = f"results of another shape: {exc}"
    rows = []
    for spec in ROW_SPECS:
        found = figures.get(spec.key) if spec.source not in problems else None
        found = found or Figures(None, note=f"not measured: {problems.get(spec.source, 'no figure')}")
        is_ratio = spec.goal.unit == "x"
        rows.append(
            Row(
                key=spec.key,
                name=spec.name,
                endpoint=spec.endpoint,
                source=f"bench/{spec.source}.py",
                issue=spec.issue,
                unit=spec.goal.unit,
                ratio=found.figure if is_ratio else None,
                value=None if is_ratio else found.figure,
                rps=found.rps,
                p50_ms=found.p50_ms,
                p99_ms=found.p99_ms,
                sql=found.sql,
                goal=spec.goal.text(),
                moonshot=spec.moonshot.text() if spec.moonshot else None,
                met=spec.goal.met(found.figure),
                moonshot_met=spec.moonshot.met(found.figure) if spec.moonshot else None,
                note=found.note,
                goal_threshold={"op": spec.goal.op, "value": spec.goal.value, "unit": spec.goal.unit},
            )
        )
    return rows


def bare_figures(results: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """Both bare views of each script's run: the yardstick (startproject DRF view) and OrMa's /bench/bare."""
    found: dict[str, Any] = {}
    for source in ("auth", "orders", "parts"):
        data = results.get(source)
        if not data:
            continue
        if source == "auth":
            pair = {"yardstick": data.get("yardstick"), "orma": data.get("bare")}
        else:
            pair = dict(data.get("bare") or {})
        if pair.get("yardstick") and pair.get("orma"):
            pair["orma_to_yardstick"] = pair["orma"]["requests_per_second"] / pair["yardstick"]["requests_per_second"]
        found[source] = pair
    return found


def verdict_text(row: Row) -> str:
    if row.met is None:
        return "not measured"
    if not row.met:
        return "NOT MET"
    return "met, moonshot too" if row.moonshot_met else "met"


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


TABLE_COLUMNS = ("row", "endpoint", "req/s", "ratio/value", "p50 ms", "p99 ms", "SQL", "goal", "moonshot", "verdict")


def table(rows: list[Row]) -> str:
    """The table ``make bench`` prints: one line per row, then each row's note."""
    cells = [
        (
            row.name,
            row.endpoint,
            _number(row.rps),
            format_figure(row.ratio if row.unit == "x" else row.value, row.unit),
            _number(row.p50_ms, 2),
            _number(row.p99_ms, 2),
            _number(row.sql, 0),
            row.goal,
            row.moonshot or "-",
            verdict_text(row),
        )
        for row in rows
    ]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(TABLE_COLUMNS)]
    right = {2, 3, 4, 5, 6}

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    out = [line(TABLE_COLUMNS), line(tuple("-" * w for w in widths))]
    out += [line(values) for values in cells]
    notes = [f"  {row.name}: {row.note}" for row in rows if row.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def summary(rows: list[Row]) -> dict[str, int]:
    return {
        "met": sum(1 for row in rows if row.met),
        "not_met": sum(1 for row in rows if row.met is False),
        "not_measured": sum(1 for row in rows if row.met is None),
        "moonshot_met": sum(1 for row in rows if row.moonshot_met),
    }


def document(
    rows: list[Row],
    *,
    machine: Mapping[str, Any],
    revision: str,
    date: str,
    mode: str,
    elapsed_seconds: float,
    scripts: Mapping[str, Any],
    bare: Mapping[str, Any],
) -> dict[str, Any]:
    """The contents of ``bench/results.json``."""
    return {
        "date": date,
        "revision": revision,
        "mode": mode,
        "elapsed_seconds": round(elapsed_seconds, 1),
        "machine": dict(machine),
        "yardstick": "bench/yardstick: a startproject-default Django with one DRF APIView, its own gunicorn",
        "bare": dict(bare),
        "summary": summary(rows),
        "rows": [row.as_json() for row in rows],
        "scripts": dict(scripts),
    }


def markdown(doc: Mapping[str, Any]) -> str:
    """A ``bench/results.json`` document as the Markdown table of docs/performance.md's latest figures."""
    where = doc["machine"]
    load = ", ".join(f"{x:.2f}" for x in where.get("load_before", []))
    lines = [
        f"{doc['mode']} run of `make bench` at {doc['revision']}, {doc['date']}, {doc['elapsed_seconds'] / 60:.0f} "
        f"minutes; {where.get('cpu_model')}, {where.get('cores')} cores, load before {load}.",
        "",
        "| row | req/s | ratio / value | p50 ms | p99 ms | SQL | goal | moonshot | verdict |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for data in doc["rows"]:
        row = Row(**data)
        figure = format_figure(row.ratio if row.unit == "x" else row.value, row.unit)
        lines.append(
            f"| {row.name} | {_number(row.rps)} | {figure} | {_number(row.p50_ms, 2)} | {_number(row.p99_ms, 2)} | "
            f"{_number(row.sql, 0)} | {row.goal} | {row.moonshot or '-'} | {verdict_text(row)} |"
        )
    for source, pair in doc.get("bare", {}).items():
        if pair.get("yardstick") and pair.get("orma"):
            lines.append("")
            lines.append(
                f"Bare views in bench/{source}.py: the yardstick {pair['yardstick']['requests_per_second']:.1f} req/s, "
                f"OrMa's /bench/bare {pair['orma']['requests_per_second']:.1f} req/s."
            )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bench.report [bench/results.json]: the Markdown table
    import json
    import sys
    from pathlib import Path

    source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results.json")
    print(markdown(json.loads(source.read_text())))
