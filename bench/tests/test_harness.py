"""The pure parts of the benchmark harness: wrk's report, goal verdicts, the rows, the table, results.json.

Fast and without servers: `.venv/bin/python -m pytest -q -p no:randomly bench/tests`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import auth, memory, orders, parts, report
from bench.common import BenchError, parse_wrk_output

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/bench/bare
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    2.00ms  40.00ms   90.00%
    Req/Sec     1.00k   100.00     1.20k    70.00%
  Latency Distribution
     50%  850.00us
     75%    4.50ms
     90%    6.00ms
     99%    1.20s
  19876 requests in 10.01s, 3.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   1985.61
Transfer/sec:    306.00KB
"""


def test_wrk_report_is_parsed_in_milliseconds_with_its_errors():
    result = parse_wrk_output(WRK_OUTPUT)
    assert result.requests_per_second == 1985.61
    assert result.requests == 19876
    assert result.duration_seconds == pytest.approx(10.01)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.latency_ms["75"] == 4.5
    assert result.p99_ms == 1200.0
    assert result.non_2xx_3xx == 7
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 3}


def test_wrk_report_without_latency_distribution_is_refused():
    without = (
        WRK_OUTPUT.split("  Latency Distribution")[0] + "  19876 requests in 10.01s, 3.00MB read\nRequests/sec: 1.0\n"
    )
    with pytest.raises(BenchError, match="--latency"):
        parse_wrk_output(without)
    with pytest.raises(BenchError, match="cannot parse"):
        parse_wrk_output("wrk: connection refused")


@pytest.mark.parametrize(
    ("op", "figure", "met"),
    [
        (">=", 0.15, True),
        (">=", 0.1499, False),
        ("<=", 3.0, True),
        ("<=", 3.01, False),
        ("<", 50, False),
        ("<", 49.9, True),
    ],
)
def test_goal_verdicts_at_and_around_the_threshold(op: str, figure: float, met: bool):
    threshold = {">=": 0.15, "<=": 3.0, "<": 50}[op]
    assert report.Goal(op, threshold).met(figure) is met


def test_no_figure_is_no_verdict():
    assert report.Goal(">=", 0.15, "x").met(None) is None
    with pytest.raises(ValueError):
        report.Goal("=>", 1)


def _load(rps: float, p50: float = 1.0, p99: float = 2.0) -> dict[str, float]:
    return {"requests_per_second": rps, "p50_ms": p50, "p99_ms": p99}


def results(**changes: Any) -> dict[str, Any]:
    """Results of every script, in the shapes the scripts write; ``changes`` replaces whole sources."""
    data: dict[str, Any] = {
        "auth": {
            "bare": _load(1000),
            "auth": _load(600),
            "yardstick": _load(1500),
            "ratio": 0.6,
            "profile": {"auth": {"queries_per_request": 0.0}},
        },
        "orders": {
            "load": {
                "yardstick": _load(1000),
                "bare": _load(900),
                "create": _load(40, 180, 400),
                "create_spread": _load(50),
                "read": _load(160),
                "ratio": {"create": 0.04, "read": 0.16, "create_spread": 0.05},
                "one_to_spread": 0.8,
            },
            "bare": {"yardstick": _load(1000), "orma": _load(900)},
            "queries": {
                "create": {"queries": 13},
                "read": {"queries": 2},
                "create_in_large_department": {"queries": 13},
            },
            "half_load": {
                "p99_ms": 203.0,
                "p50_ms": 20.0,
                "achieved_requests_per_second": 20.0,
                "peak_requests_per_second": 40.0,
            },
            "window": {
                "large_orders": 1_000_000,
                "explain": {"large": {"index_scan_on_ro_window": True, "seq_scan": False, "execution_ms": 0.1}},
                "latency": {"ratio_large_to_small": {"p50_ms": 1.05}, "large": {"p50_ms": 20.0, "p99_ms": 40.0}},
            },
        },
        "parts": {
            "load": {
                "yardstick": _load(1000),
                "bare": _load(900),
                "single": _load(300, 10.0),
                "basket": _load(60, 40.0),
                "order": _load(30),
                "basket_p50_ratio": 4.0,
                "order_ratio": 0.03,
            },
            "bare": {"yardstick": _load(1000), "orma": _load(900)},
            "queries": {"single": 3, "basket": 4, "order": 25},
            "import": {
                "create": {
                    "created": 1_000_000,
                    "updated": 0,
                    "seconds": 126.6,
                    "rows_per_second": 7900.0,
                    "peak_rss_mib": 102.0,
                }
            },
        },
        "memory": {
            "load": {"requests_per_second": 80.0, "p50_ms": 50.0, "p99_ms": 300.0},
            "workers": [{"rss_after_warmup_kib": 102400, "rss_end_kib": 104448}],
            "max_growth": 0.02,
        },
        "dms": {
            "outbox_cost": {"outbox_own_ms": {"p99": 1.5}},
            "latency": {"sync_ms": {"p50": 150.0, "p99": 1200.0}},
            "throughput": {"pushes_per_second": 300.0},
        },
        "webhooks": {
            "throughput": {"ratio": 0.7, "per_second": 70.0, "plain_per_second": 100.0},
            "first_attempt_ms": {"p50": 20.0, "p99": 250.0},
            "create_added_ms": {"p50": 0.5, "p99": 1.0},
            "isolation": {"p99_ratio": 1.05, "disturbed_ms": {"p99": 105.0}, "undisturbed_ms": {"p99": 100.0}},
        },
    }
    data.update(changes)
    return data


def rows_by_key(rows: list[report.Row]) -> dict[str, report.Row]:
    return {row.key: row for row in rows}


def test_every_row_of_the_issue_is_built_and_judged_from_its_figure():
    rows = rows_by_key(report.build_rows(results()))
    assert list(rows) == [spec.key for spec in report.ROW_SPECS]
    create = rows["create"]
    assert (create.ratio, create.value, create.rps, create.sql, create.met) == (0.04, None, 40, 13, False)
    assert rows["create_one_vs_spread"].met is True  # 0.8 is the goal itself
    assert rows["create_one_vs_spread"].moonshot_met is False
    assert rows["auth"].ratio == 0.6 and rows["auth"].met is False
    assert rows["basket"].ratio == 4.0 and rows["basket"].met is False
    assert rows["import_rate"].value == 7900.0 and rows["import_rate"].met is False
    assert rows["import_rss"].value == 102.0 and rows["import_rss"].met is True
    assert rows["create_p99_half_load"].value == 203.0 and rows["create_p99_half_load"].met is False
    assert rows["memory"].value == pytest.approx(2.0) and rows["memory"].met is True
    assert rows["window_index_scan"].met is True
    assert rows["dms_sync_p99"].met is False and rows["dms_outbox_p99"].met is True
    assert rows["webhooks_first_attempt_p99"].met is False and rows["webhooks_isolation"].met is True


def test_a_script_that_did_not_measure_leaves_its_rows_without_verdict():
    broken_parts = {"load": {}}  # another shape: no figures at all
    rows = report.build_rows(results(memory=None, parts=broken_parts), {"memory": "bench/memory.py exited 2"})
    by_key = rows_by_key(rows)
    assert by_key["memory"].met is None and "exited 2" in by_key["memory"].note
    for key in ("parts_order", "basket", "import_rate", "import_rss"):
        assert by_key[key].met is None and by_key[key].ratio is None and by_key[key].value is None
        assert "another shape" in by_key[key].note
    assert by_key["create"].met is False  # the other scripts' rows keep their verdicts
    assert report.summary(rows)["not_measured"] == 5


def test_the_table_shows_every_row_its_columns_and_verdicts():
    rows = report.build_rows(results(memory=None))
    text = report.table(rows)
    header = text.splitlines()[0]
    for column in ("endpoint", "req/s", "ratio/value", "p50 ms", "p99 ms", "SQL", "goal", "moonshot", "verdict"):
        assert column in header
    for row in rows:
        assert row.name in text
    assert "NOT MET" in text and "not measured" in text and "0.040x" in text and "7,900 rows/s" in text


def test_results_document_shape():
    rows = report.build_rows(results())
    doc = report.document(
        rows,
        machine={"cpu_model": "AMD EPYC", "cores": 2, "load_before": [0.1, 0.2, 0.3]},
        revision="c5b4605",
        date="2026-12-02T21:00:00+00:00",
        mode="full",
        elapsed_seconds=1234.5,
        scripts={"orders": {"returncode": 0}},
        bare=report.bare_figures(results()),
    )
    parsed = json.loads(json.dumps(doc))
    assert {"rows", "machine", "revision", "date", "bare", "summary", "scripts"} <= set(parsed)
    for row in parsed["rows"]:
        assert {
            "name",
            "ratio",
            "goal",
            "met",
            "moonshot",
            "endpoint",
            "rps",
            "p50_ms",
            "p99_ms",
            "sql",
            "value",
            "unit",
        } <= set(row)
    assert parsed["bare"]["orders"]["orma_to_yardstick"] == pytest.approx(0.9)
    assert parsed["bare"]["auth"]["yardstick"]["requests_per_second"] == 1500


def test_the_scripts_state_the_same_goals_as_the_table():
    goals = {spec.key: spec.goal.value for spec in report.ROW_SPECS}
    moonshots = {spec.key: spec.moonshot.value for spec in report.ROW_SPECS if spec.moonshot}
    assert (goals["create"], moonshots["create"]) == (orders.GOAL_CREATE_RATIO, orders.MOONSHOT_CREATE_RATIO)
    assert (goals["read"], moonshots["read"]) == (orders.GOAL_READ_RATIO, orders.MOONSHOT_READ_RATIO)
    assert goals["create_one_vs_spread"] == orders.GOAL_SPREAD_RATIO
    assert (goals["create_p99_half_load"], moonshots["create_p99_half_load"]) == (
        orders.GOAL_CREATE_P99_MS,
        orders.MOONSHOT_CREATE_P99_MS,
    )
    assert (goals["auth"], moonshots["auth"]) == (auth.GOAL_RATIO, auth.MOONSHOT_RATIO)
    assert (goals["parts_order"], moonshots["parts_order"]) == (parts.GOAL_ORDER_RATIO, parts.MOONSHOT_ORDER_RATIO)
    assert goals["basket"] == parts.GOAL_BASKET_P50_RATIO
    assert goals["import_rate"] == parts.GOAL_IMPORT_ROWS_PER_SECOND
    assert goals["import_rss"] == parts.GOAL_IMPORT_RSS_MIB
    assert goals["memory"] == memory.GOAL_GROWTH * 100


def test_memory_growth_verdict_per_worker():
    verdict = memory.growth_verdict({11: 100_000, 12: 100_000}, {11: 109_000, 12: 110_000})
    assert [w["growth"] for w in verdict["workers"]] == [pytest.approx(0.09), pytest.approx(0.10)]
    assert verdict["goal_met"] is False  # 10 % is not "< 10 %"
    assert memory.growth_verdict({11: 100_000}, {11: 90_000})["goal_met"] is True


def test_memory_growth_refuses_a_replaced_worker():
    with pytest.raises(BenchError, match="workers changed"):
        memory.growth_verdict({11: 100_000, 12: 100_000}, {11: 100_000, 13: 100_000})


def test_markdown_of_a_results_document_has_a_line_per_row():
    rows = report.build_rows(results(dms=None))
    doc = report.document(
        rows,
        machine={"cpu_model": "AMD EPYC", "cores": 2, "load_before": [0.5]},
        revision="abc1234",
        date="2026-12-02T21:00:00+00:00",
        mode="full",
        elapsed_seconds=1320,
        scripts={},
        bare=report.bare_figures(results()),
    )
    text = report.markdown(json.loads(json.dumps(doc)))
    table_lines = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table_lines) == 1 + len(report.ROW_SPECS)
    assert "22 minutes" in text and "| not measured |" in text and "OrMa's /bench/bare 900.0 req/s" in text


def test_the_servers_doorbells_go_to_a_broker_folder_of_the_run_not_var_celery():
    """Every run's unconsumed doorbells piled up under var/celery for the next `make run` worker (134,031 files)."""
    from pathlib import Path

    from bench import common

    env = common.server_env(settings_module="bench.settings", database_url="postgres://x/orma_bench")
    folder = Path(env["ORMA_CELERY_DIR"])
    assert folder.is_dir() and folder.name.startswith("orma-bench-broker-")
    assert common.REPO_ROOT not in folder.parents
    assert common.server_env(settings_module="bench.settings", database_url="postgres://x/orma_bench")[
        "ORMA_CELERY_DIR"
    ] == str(folder)  # one folder for the run: the bench process and its servers share the broker
    assert (
        common.server_env(
            settings_module="bench.settings", database_url="postgres://x/orma_bench", extra={"ORMA_CELERY_DIR": "/x"}
        )["ORMA_CELERY_DIR"]
        == "/x"
    )
