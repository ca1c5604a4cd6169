"""No repair-order request, however malformed, gets a 500, and none leaves a half-written order (DESIGN §9).

Hypothesis generates bodies four ways: from the request spec with wrong types at every level, by
mutating seed 001's valid sample (a random leaf or subtree replaced, removed, wrapped or stringified),
as raw bytes (broken JSON, deep nesting), and with arbitrary Unicode (NUL, lone surrogates in JSON
escapes) in text fields. Every answer must be 2xx or 4xx in seed 001's envelope; after a non-2xx answer
no row of any order table has changed, and an update that is refused leaves the order as it was.

All examples of one test share the test's transaction; order numbers are made unique per example, and
409 DUPLICATE_ORDER is an acceptable 4xx where a mutation repeats a number.

Boundary amounts (10-digit money, 8-digit quantities) and the calendar's first and last days are among
the generated values: they once overflowed the window arithmetic and the line columns (500s), see the
tests at the end of this module.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders import body as spec
from orders.models import RepairOrder
from orma.errors import ErrorCode

from .factories import CustomerFactory, VehicleFactory, priced_package, row_counts, sample_body

pytestmark = pytest.mark.django_db

ENVELOPE_KEYS = {"errors", "warnings", "orderUUID", "statusCode"}
KNOWN_CODES = {str(code) for code in ErrorCode}

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

CUSTOMER = "<customer>"  # placeholders the generated bodies carry, replaced by the fixture's real rows
VEHICLE = "<vehicle>"
PACKAGE = "<package>"
_order_numbers = itertools.count(1)


def unique_order_number() -> str:
    return f"FZ-{next(_order_numbers)}-{uuid.uuid4().hex[:8]}"


# --- strategies ------------------------------------------------------------------------------------

# Anything a JSON string can carry once escaped: every code point, NUL and lone surrogates included (built
# from lists: ``st.text`` never draws surrogates, whatever its alphabet).
CHARACTERS = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from(["\x00", "\ud800", "\udc00", "\udfff", "\u2028", "\ufeff", "\n", ".", "[", "]", '"', "\\"]),
)
ANY_TEXT = st.lists(CHARACTERS, max_size=40).map("".join)
INTERESTING = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ud800",
        "\udfff",
        "a\x00b",
        "é",
        "😀",
        "12.56",
        "12.567",
        "-1",
        "1e3",
        "0",
        "12345.67",
        "9999999999.99",
        "99999999.99",
        "999999.99",
        "2",
        "4.5",
        "2024-02-29",
        "2023-02-29",
        "2024-02-30",
        "2024-02-01",
        "9999-12-31",
        "0001-01-01",
        "9999-12-31 23:59:59",
        "23:59:59",
        "24:00:00",
        "08:30:00",
        "2024-03-01 12:00:00",
        "Y",
        "N",
        "RO",
        "OPENED",
        "CLOSED",
        "PRE-INVOICED",
        "C",
        "X",
        "MISC",
        "LUBE",
        "SUBLET",
        "APPOINTMENT",
        "WVWZZZ1JZXW000001",
        "TMBZZZ1Z0F2000001",
        "1HGCM82633A004352",
        str(uuid.UUID(int=0)),
        CUSTOMER,
        VEHICLE,
        PACKAGE,
        "X" * 51,
        "X" * 201,
        "X" * 4001,
        "x" * 200_000,
        "𝟙𝟚",
    ]
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
    INTERESTING,
)
JSON = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(ANY_TEXT, st.sampled_from(["partNumber", "uuid", "order", "jobs"])), children, max_size=4
        ),
    ),
    max_leaves=12,
)


def for_spec(node: spec.Field | spec.Obj | spec.ListOf) -> st.SearchStrategy[Any]:
    """Values for a node of the request spec: mostly the right shape, often the wrong type at any level."""
    if isinstance(node, spec.Field):
        return st.one_of(INTERESTING, INTERESTING, SCALAR, JSON)
    if isinstance(node, spec.Obj):
        fields = {key: for_spec(sub) for key, sub in node.fields.items()}
        proper = st.fixed_dictionaries({}, optional=fields)
        with_extra = st.builds(
            lambda known, extra: {**extra, **known}, proper, st.dictionaries(ANY_TEXT, JSON, max_size=2)
        )
        return st.one_of(proper, proper, with_extra, JSON)
    return st.one_of(st.lists(for_spec(node.item), max_size=3), st.lists(for_spec(node.item), max_size=3), JSON)


SPEC_BODIES = st.one_of(
    st.fixed_dictionaries({"order": for_spec(spec.ORDER)}),
    st.fixed_dictionaries({"order": for_spec(spec.ORDER)}, optional={"extra": JSON}),
    JSON,
)


def substitute(value: Any, context: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: substitute(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, context) for item in value]
    if isinstance(value, str) and value in context:
        return context[value]
    return value


def node_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every node's path (leaves and subtrees, the root excluded)."""
    paths = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        paths.append((*prefix, key))
        paths.extend(node_paths(item, (*prefix, key)))
    return paths


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def mutate(body: dict[str, Any], path: tuple[Any, ...], operation: str, replacement: Any, key: str = "") -> None:
    parent: Any = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "add" and isinstance(parent[last], dict):
        parent[last][key] = replacement  # a new (mostly unknown) field, or a known one replaced
    elif operation == "delete":
        del parent[last]
    elif operation == "replace":
        parent[last] = replacement
    elif operation == "wrap":
        parent[last] = [parent[last]]
    elif operation == "stringify":
        parent[last] = json.dumps(parent[last])
    elif operation == "null":
        parent[last] = None
    elif operation == "unwrap" and isinstance(parent[last], list | dict) and parent[last]:
        inner = parent[last]
        parent[last] = inner[0] if isinstance(inner, list) else next(iter(inner.values()))


MUTATIONS = st.sampled_from(
    ["replace", "replace", "replace", "add", "add", "delete", "wrap", "stringify", "null", "unwrap"]
)
KEYS = st.one_of(ANY_TEXT, INTERESTING, st.sampled_from(["laborType", "packages", "vin", "uuid", "mls", "parts"]))


# --- fixtures and checks -----------------------------------------------------------------------------


@pytest.fixture
def world(api, partner, department) -> dict[str, Any]:
    """The department's customer, vehicle and package, the valid sample, and an API client without a rate limit."""
    partner.rate_limit_per_minute = 1_000_000
    partner.save()
    customer = CustomerFactory(dealer=department.dealer)
    vehicle = VehicleFactory(dealer=department.dealer, customer=customer)
    package = priced_package(department.dealer, code="FUZZ-PKG")
    return {
        "api": api,
        "department": department,
        "url": f"/order/v2/department/{department.uuid}/order",
        "sample": sample_body(customer, vehicle),
        "context": {CUSTOMER: str(customer.uuid), VEHICLE: str(vehicle.uuid), PACKAGE: package.code},
    }


def send(world: dict[str, Any], raw: bytes | str, method: str = "PUT", url: str | None = None) -> Any:
    return world["api"].generic(method, url or world["url"], raw, content_type="application/json")


def check_answer(world: dict[str, Any], response: Any, before: dict[str, int]) -> dict[str, Any]:
    """2xx or 4xx in the envelope; a refusal changed no row; a creation can be read back."""
    status = response.status_code
    assert status < 500, response.content[:2000]
    assert 200 <= status < 300 or 400 <= status < 500, status
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert ENVELOPE_KEYS <= set(answer), answer
    assert answer["statusCode"] == status
    assert isinstance(answer["warnings"], list)
    if status >= 400:
        assert answer["errors"], answer
        assert {error["errorCode"] for error in answer["errors"]} <= KNOWN_CODES, answer["errors"]
        uids = [error["errorUID"] for error in answer["errors"]]
        assert len(set(uids)) == len(uids)
        assert row_counts() == before, answer["errors"]
    else:
        assert answer["errors"] == []
        assert uuid.UUID(answer["orderUUID"])
        read = world["api"].get(f"{world['url']}/{answer['orderUUID']}")
        assert read.status_code == 200, read.content[:2000]
        assert read.json()["order"]["orderUUID"] == answer["orderUUID"]
    return answer


def fresh_sample(world: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(world["sample"])
    body["order"]["header"]["orderNumber"] = unique_order_number()
    return body


# --- the properties ------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_it_never_answers_500_to_bodies_of_the_wrong_shape(world, data):
    body = substitute(data.draw(SPEC_BODIES, label="body"), world["context"])
    method = data.draw(st.sampled_from(["PUT", "POST"]), label="method")
    before = row_counts()

    check_answer(world, send(world, json.dumps(body), method), before)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_it_never_answers_500_to_a_mutated_sample(world, data):
    body = fresh_sample(world)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = node_paths(body)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        operation = data.draw(MUTATIONS, label="operation")
        replacement = substitute(data.draw(JSON, label="replacement"), world["context"])
        mutate(body, path, operation, replacement, data.draw(KEYS, label="key"))
    before = row_counts()

    check_answer(world, send(world, json.dumps(body)), before)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_it_never_answers_500_to_deep_nesting(world, data):
    body = fresh_sample(world)
    path = data.draw(st.sampled_from([(), *node_paths(body)]), label="path")
    depth = data.draw(st.one_of(st.integers(1, 1_200), st.just(10_000)), label="depth")
    opener, closer = data.draw(st.sampled_from([("[", "]"), ('{"a":', "}")]), label="kind")
    if path:
        mutate(body, path, "replace", "__NEST__")
    else:
        body["order"]["__extra__"] = "__NEST__"
    raw = json.dumps(body).replace('"__NEST__"', opener * depth + "1" + closer * depth)
    before = row_counts()

    check_answer(world, send(world, raw), before)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_it_never_answers_500_to_broken_bytes(world, data):
    raw = json.dumps(fresh_sample(world)).encode()
    kind = data.draw(st.sampled_from(["binary", "truncate", "insert", "overwrite"]), label="kind")
    if kind == "binary":
        raw = data.draw(st.binary(max_size=300), label="raw")
    else:
        position = data.draw(st.integers(0, len(raw) - 1), label="position")
        chunk = data.draw(st.binary(min_size=1, max_size=4), label="chunk")
        raw = {
            "truncate": raw[:position],
            "insert": raw[:position] + chunk + raw[position:],
            "overwrite": raw[:position] + chunk + raw[position + len(chunk) :],
        }[kind]
    before = row_counts()

    check_answer(world, send(world, raw), before)


def _known_names(node: spec.Field | spec.Obj | spec.ListOf, into: set[str]) -> set[str]:
    if isinstance(node, spec.ListOf):
        return _known_names(node.item, into)
    if isinstance(node, spec.Obj):
        for key, sub in node.fields.items():
            into.add(key)
            _known_names(sub, into)
    return into


KNOWN_NAMES = _known_names(spec.BODY, set())
UNKNOWN_NAMES = st.lists(CHARACTERS, min_size=1, max_size=12).map("".join).filter(lambda name: name not in KNOWN_NAMES)


def path_text(path: tuple[Any, ...]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_it_ignores_unknown_fields_of_any_name_at_any_level(world, data):
    body = fresh_sample(world)
    objects = [(), *(path for path in node_paths(body) if isinstance(_at(body, path), dict))]
    path = data.draw(st.sampled_from(objects), label="path")
    name = data.draw(UNKNOWN_NAMES, label="name")
    _at(body, path)[name] = data.draw(JSON, label="value")
    before = row_counts()

    answer = check_answer(world, send(world, json.dumps(body)), before)

    assert answer["statusCode"] == 201, answer["errors"]
    unknown = [warning for warning in answer["warnings"] if warning["warningCode"] == 1004]
    assert len(unknown) == 1
    where = path_text(path)
    assert (f"{where}." if where else "Unknown fields were ignored: ") in unknown[0]["warningDescription"]


TEXT_PATHS = [
    ("order", "header", "description"),
    ("order", "header", "advisorName"),
    ("order", "header", "orderNumber"),
    ("order", "header", "serviceAccount"),
    ("order", "jobs", 0, "laborOpCodeDesc"),
    ("order", "jobs", 0, "jobNumberString"),
    ("order", "jobs", 0, "parts", 0, "partNumber"),
    ("order", "jobs", 0, "parts", 0, "description"),
    ("order", "jobs", 0, "comments", 0, "comment"),
    ("order", "jobs", 0, "ccc", "complaint"),
    ("order", "mls", 0, "vendor"),
    ("order", "mls", 0, "saleCompany"),
    ("order", "vehicle", "vin"),
]


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_it_stores_any_text_it_accepts_unchanged(world, data):
    body = fresh_sample(world)
    path = data.draw(st.sampled_from(TEXT_PATHS), label="path")
    text = data.draw(st.one_of(ANY_TEXT, st.text(max_size=60), INTERESTING), label="text")
    if path[-1] == "orderNumber" and text.strip():
        text = f"{text}-{unique_order_number()}"
    mutate(body, path, "replace", text)
    before = row_counts()

    answer = check_answer(world, send(world, json.dumps(body)), before)

    # What the server reads: a surrogate pair escaped in JSON ("\ud800\udc00") is one astral character.
    received = json.loads(json.dumps(text))
    if answer["statusCode"] == 201 and path[-1] != "vin":
        stored = world["api"].get(f"{world['url']}/{answer['orderUUID']}").json()
        assert _at(stored, path) == received
    if "\x00" in received or any("\ud800" <= char <= "\udfff" for char in received):
        assert answer["statusCode"] == 400


def check_answer_update(response: Any, before: dict[str, int]) -> None:
    """2xx or 4xx in the envelope; a refusal changed no row."""
    status = response.status_code
    assert status < 500, response.content[:2000]
    assert 200 <= status < 300 or 400 <= status < 500, status
    answer = response.json()
    assert ENVELOPE_KEYS <= set(answer)
    assert answer["statusCode"] == status
    if status >= 400:
        assert {error["errorCode"] for error in answer["errors"]} <= KNOWN_CODES
        assert row_counts() == before


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_it_never_half_writes_an_update(world, data):
    created = send(world, json.dumps(fresh_sample(world)))
    assert created.status_code == 201, created.content
    order_uuid = created.json()["orderUUID"]
    order_url = f"{world['url']}/{order_uuid}"
    before_order = RepairOrder.objects.get(uuid=order_uuid)

    body = fresh_sample(world)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(node_paths(body) or [("order",)]), label="path")
        if path == ("order",) and "order" not in body:
            break
        replacement = substitute(data.draw(JSON, label="replacement"), world["context"])
        mutate(body, path, data.draw(MUTATIONS, label="operation"), replacement, data.draw(KEYS, label="key"))
    before = row_counts()

    response = send(world, json.dumps(body), url=order_url)
    check_answer_update(response, before)

    after_order = RepairOrder.objects.get(uuid=order_uuid)
    if response.status_code >= 400:
        assert after_order.version == before_order.version
        assert after_order.document == before_order.document
        assert after_order.order_number == before_order.order_number
    else:
        assert after_order.version == before_order.version + 1


# --- fixed examples --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("[" * 10_000 + "]" * 10_000, id="10000-nested-arrays"),
        pytest.param('{"order": ' + "[" * 10_000 + "]" * 10_000 + "}", id="10000-nested-arrays-in-order"),
        pytest.param('{"order": {"jobs": [{"parts": ' + "[" * 5_000 + "]" * 5_000 + "}]}}", id="nested-in-parts"),
        pytest.param('{"order": {"header": "\\ud800"}}', id="lone-surrogate-as-object"),
        pytest.param('{"order": {"\\ud800": 1, "header": {"\\udfff": "\\u0000"}}}', id="surrogate-keys"),
        pytest.param('{"order": {"jobs": [{"parts": {"0": {"partNumber": "X"}}}]}}', id="object-for-array"),
        pytest.param('{"order": {"jobs": {"laborOpCode": "OIL"}}}', id="object-for-jobs"),
        pytest.param('{"order": {"header": [["OPENED"]], "customer": [], "vehicle": "x"}}', id="arrays-for-objects"),
        pytest.param('{"order": {"type": 1e308, "header": {"createDate": -0.0}}}', id="floats"),
        pytest.param('{"order": {"header": {"mileageIn": 123456789012345678901234567890}}}', id="huge-integer"),
        pytest.param('{"order": {"header": {"orderNumber": "' + "9" * 1_000_000 + '"}}}', id="one-mebibyte-string"),
        pytest.param('{"order": {"jobs": [' + ",".join(["null"] * 200) + "]}}", id="200-null-jobs"),
        pytest.param('{"order": {"jobs": [{"packages": [{}, {"packageCode": 7}, null]}]}}', id="bad-package-uses"),
        pytest.param('{"order": {"vehicle": {"vin": 12345678901234567}}}', id="numeric-vin"),
        pytest.param('{"order": {"vehicle": {"vin": ["WVWZZZ1JZXW000001"]}}}', id="vin-in-array"),
    ],
)
def test_it_never_answers_500_to_these_bodies(world, raw):
    before = row_counts()

    answer = check_answer(world, send(world, raw), before)

    assert 400 <= answer["statusCode"] < 500


def test_it_answers_the_same_to_put_and_post(world):
    body = fresh_sample(world)
    body["order"]["header"]["createDate"] = "2024-02-30"

    put = send(world, json.dumps(body), "PUT").json()
    post = send(world, json.dumps(body), "POST").json()

    assert [error["errorDescription"] for error in put["errors"]] == [e["errorDescription"] for e in post["errors"]]


# --- bugs found by these tests, fixed: each stays as the test that would have caught it --------------


@pytest.mark.parametrize("create_date", ["9999-12-31", "0001-01-01"])
def test_it_answers_an_extreme_create_date_without_a_500(world, create_date):
    body = fresh_sample(world)
    body["order"]["header"]["createDate"] = create_date
    before = row_counts()

    answer = check_answer(world, send(world, json.dumps(body)), before)

    assert answer["statusCode"] in (201, 400)


def _money_tree_ok(value: Any, key: str = "") -> bool:
    """Every amount, hour and quantity answered fits its declared format (10/6/8 digits, 2 decimals)."""
    if isinstance(value, dict):
        return all(_money_tree_ok(item, name) for name, item in value.items())
    if isinstance(value, list):
        return all(_money_tree_ok(item, key) for item in value)
    if not isinstance(value, str) or "." not in value or not value.replace(".", "").isdigit():
        return True
    digits = len(value.split(".")[0])
    if "Hours" in key:
        return digits <= 6
    if "quantity" in key.lower():
        return digits <= 8
    return digits <= 10


def test_it_refuses_or_bounds_header_totals_the_lines_push_beyond_ten_digits(world):
    body = fresh_sample(world)
    del body["order"]["header"]["laborSale"]
    job = body["order"]["jobs"][0]
    body["order"]["jobs"] = [dict(copy.deepcopy(job), laborSale="9999999999.99") for _ in range(2)]
    before = row_counts()

    answer = check_answer(world, send(world, json.dumps(body)), before)

    if answer["statusCode"] == 201:
        order = world["api"].get(f"{world['url']}/{answer['orderUUID']}").json()["order"]
        assert _money_tree_ok(order), order["header"]["laborSale"]
    else:
        assert answer["errors"][0]["errorCode"] == "FIELD_INVALID"


def test_it_refuses_or_bounds_a_package_quantity_that_overflows_its_lines(world):
    body = fresh_sample(world)
    body["order"]["jobs"][0]["packages"] = [{"packageCode": world["context"][PACKAGE], "quantity": "99999999.99"}]
    before = row_counts()

    answer = check_answer(world, send(world, json.dumps(body)), before)

    if answer["statusCode"] == 201:
        order = world["api"].get(f"{world['url']}/{answer['orderUUID']}").json()["order"]
        assert _money_tree_ok(order), order["jobs"][0]["packages"]
    else:
        assert answer["errors"][0]["errorCode"] == "FIELD_INVALID"
