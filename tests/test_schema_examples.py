"""Every operation's example, run against a live demo server, answers its documented status.

The demo world is seeded (``orma_seed_demo``'s ``seed_demo``) into the live server's database; the schema
is read from the server itself (``/api/schema/``). For each operation the request is built only from what
the schema says: the path and query parameters' examples, the request body's example, the demo partner's
credentials. The documented status is the operation's lowest 2xx response. An operation whose path
parameter or body has no example is reported as such (a family added later, e.g. /notification/v1/, must
bring its examples), never skipped.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from orma.demo import seed_demo

# reset_sequences: the demo parts order is number 1, as on a fresh database (the example names it)
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

METHODS = ("get", "put", "post", "patch", "delete")


def _example(item: dict[str, Any]) -> Any:
    """A parameter's or a media type's example: ``example``, else the first of ``examples``."""
    if "example" in item:
        return item["example"]
    examples = item.get("examples") or {}
    for example in examples.values():
        if "value" in example:
            return example["value"]
    return None


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _request(path: str, operation: dict[str, Any]) -> tuple[str, dict[str, Any], Any, list[str]]:
    """The URL path, the query and the body the operation's examples make, and what examples are missing."""
    missing, query = [], {}
    for parameter in operation.get("parameters", ()):
        value = _example(parameter)
        if parameter["in"] == "path":
            if value is None:
                missing.append(f"path parameter {parameter['name']}")
            else:
                path = path.replace(f"{{{parameter['name']}}}", str(value))
        elif parameter["in"] == "query" and value is not None:
            query[parameter["name"]] = value
    body = None
    if "requestBody" in operation:
        media = operation["requestBody"].get("content", {}).get("application/json", {})
        body = _example(media)
        if body is None:
            missing.append("request body")
    return path, query, body, missing


def test_every_operations_example_answers_its_documented_status_on_the_live_demo_server(live_server, settings):
    # As under `make run`: the demo's own webhook receiver and the example's not-yet-resolving host are allowed.
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
    demo = seed_demo(base_url=live_server.url)
    auth = (demo.result["partner"]["username"], demo.result["partner"]["secret"])
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    # Deletions last: the operations after them still find the demo rows their examples name.
    operations = sorted(_operations(schema), key=lambda operation: operation[1] == "delete")
    assert len(operations) >= 20  # the orders and parts families at least

    failures = []
    for path, method, operation in operations:
        name = f"{method.upper()} {path} ({operation.get('operationId')})"
        url_path, query, body, missing = _request(path, operation)
        if missing:
            failures.append(f"{name}: no example for {', '.join(missing)}")
            continue
        documented = sorted(int(code) for code in operation["responses"] if code.isdigit() and code.startswith("2"))
        if not documented:
            failures.append(f"{name}: documents no 2xx response")
            continue
        response = requests.request(
            method, f"{live_server.url}{url_path}", params=query, json=body, auth=auth, timeout=30
        )
        if response.status_code != documented[0]:
            failures.append(
                f"{name}: answered {response.status_code}, documented {documented[0]}: {response.text[:600]}"
            )

    assert not failures, "\n".join(failures)


def test_the_schema_explains_itself(live_server):
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()

    description = schema["info"]["description"]
    for code in ("DUPLICATE_ORDER", "UNKNOWN_PART", "VERSION_MISMATCH", "RATE_LIMITED"):
        assert f"`{code}`" in description
    for warning in ("1001", "1004", "1005"):
        assert f"| {warning} |" in description
    assert "30 × 24 h" in description
    undescribed = [
        f"{method} {path} {where}"
        for path, method, operation in _operations(schema)
        for where in [
            *(f"parameter {p['name']}" for p in operation.get("parameters", ()) if not p.get("description")),
            *(f"response {code}" for code, r in operation["responses"].items() if not r.get("description")),
        ]
    ]
    assert not undescribed, "\n".join(undescribed)


def test_the_warning_catalogue_is_the_rules_own():
    from orders import body
    from orma.api.schema import WARNING_CATALOGUE

    codes = {value for name, value in vars(body).items() if name.startswith("WARNING_")}
    assert {code for code, _ in WARNING_CATALOGUE} == codes
