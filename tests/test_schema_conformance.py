"""The schema conformance check itself: it catches what does not conform, passes what does, and sees every answer."""

from __future__ import annotations

import json
import uuid

import pytest

from tests import schema_conformance
from tests.schema_conformance import (
    Known,
    Mismatch,
    RecordedResponse,
    ResponseSchemas,
    project_schemas,
    recorded_responses,
)

JSON = "application/json"
THING = "/order/v2/thing/{thingUUID}"

# A small OpenAPI 3.0 document with what drf-spectacular generates: $refs to components, nullable
# scalars and nullable objects (allOf + nullable), formats, patterns, a default response.
DOCUMENT = {
    "openapi": "3.0.3",
    "paths": {
        THING: {
            "get": {
                "operationId": "thing_read",
                "responses": {
                    "200": {"content": {JSON: {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
        "/order/v2/thing": {
            "post": {
                "operationId": "thing_create",
                "responses": {
                    "201": {"description": "created, no body"},
                    "default": {"content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            },
        },
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "properties": {
                    "uuid": {"type": "string", "format": "uuid"},
                    "price": {"type": "string", "pattern": r"^\d{1,10}\.\d{2}$"},
                    "note": {"type": "string", "nullable": True},
                    "owner": {"allOf": [{"$ref": "#/components/schemas/Owner"}], "nullable": True},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "changedAt": {"type": "string", "format": "date-time"},
                },
                "required": ["uuid", "price", "note", "owner"],
            },
            "Owner": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
            "Error": {
                "type": "object",
                "properties": {"message": {"type": "string"}, "statusCode": {"type": "integer"}},
                "required": ["message", "statusCode"],
            },
        }
    },
}

THING_BODY = {
    "uuid": "6f1d2c1e-7a0b-4b8e-9a57-0b6d1f3e2a10",
    "price": "12.50",
    "note": None,
    "owner": {"name": "Ada"},
    "tags": ["a"],
    "changedAt": "2024-02-01T10:00:00Z",
}


@pytest.fixture(scope="module")
def schemas() -> ResponseSchemas:
    return ResponseSchemas(DOCUMENT)


def answer(
    path: str, status: int, body: object = None, *, method: str = "GET", content_type: str = JSON
) -> RecordedResponse:
    content = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    return RecordedResponse(method, path, status, content_type, content)


THING_PATH = f"/order/v2/thing/{uuid.uuid4()}"


def test_it_passes_a_conforming_body_nulls_refs_and_formats_included(schemas):
    assert schemas.check(answer(THING_PATH, 200, THING_BODY)) == []
    assert schemas.check(answer(THING_PATH, 200, {**THING_BODY, "note": "n", "owner": None})) == []
    assert schemas.check(answer(THING_PATH, 404, {"message": "Not found", "statusCode": 404})) == []


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        ({"price": 12.5}, "/price", "is not of type 'string'"),
        ({"price": "12.5"}, "/price", "does not match"),
        ({"uuid": "not-a-uuid"}, "/uuid", "is not a 'uuid'"),
        ({"changedAt": "2024-02-01 10:00"}, "/changedAt", "is not a 'date-time'"),
        ({"owner": {}}, "/owner", "'name' is a required property"),
        ({"owner": {"name": 1}}, "/owner/name", "is not of type 'string'"),
        ({"tags": [1]}, "/tags/0", "is not of type 'string'"),
        ({"uuid": None}, "/uuid", "None is not of type 'string'"),
        ({"extra": 1}, "", "Additional properties are not allowed ('extra' was unexpected)"),
    ],
)
def test_it_catches_a_body_that_violates_its_schema(schemas, change, pointer, message):
    mismatches = schemas.check(answer(THING_PATH, 200, {**THING_BODY, **change}))

    assert len(mismatches) == 1
    assert mismatches[0].pointer == pointer and message in mismatches[0].message
    assert mismatches[0].operation == "thing_read" and mismatches[0].status == 200


def test_it_catches_a_missing_required_key_and_reports_every_problem(schemas):
    body = {key: value for key, value in THING_BODY.items() if key != "note"}

    mismatches = schemas.check(answer(THING_PATH, 200, {**body, "price": 1}))

    assert {(m.pointer, m.message) for m in mismatches} == {
        ("", "'note' is a required property"),
        ("/price", "1 is not of type 'string'"),
    }


def test_it_catches_an_undocumented_status(schemas):
    (mismatch,) = schemas.check(answer(THING_PATH, 500, {"message": "boom", "statusCode": 500}))

    assert mismatch == Mismatch(
        "thing_read", "GET", THING_PATH, 500, "", "status 500 is not documented (documented: 200, 404)"
    )


def test_it_catches_a_method_that_is_no_operation_of_the_path(schemas):
    (mismatch,) = schemas.check(answer(THING_PATH, 405, {"message": "no", "statusCode": 405}, method="DELETE"))

    assert mismatch.operation == f"DELETE {THING}"
    assert mismatch.message == "DELETE is not an operation of this path"


def test_it_falls_back_to_the_default_response(schemas):
    assert schemas.check(answer("/order/v2/thing", 409, {"message": "dup", "statusCode": 409}, method="POST")) == []
    (mismatch,) = schemas.check(answer("/order/v2/thing", 409, {"message": "dup"}, method="POST"))
    assert mismatch.message == "'statusCode' is a required property"


def test_it_catches_a_body_where_none_is_documented_and_a_body_that_is_not_json(schemas):
    assert schemas.check(answer("/order/v2/thing", 201, method="POST")) == []
    (html,) = schemas.check(answer(THING_PATH, 404, b"<h1>Not found</h1>", content_type="text/html"))
    (garbled,) = schemas.check(answer(THING_PATH, 404, b"{not json"))

    assert html.message == "Content-Type 'text/html' is not documented (documented: application/json)"
    assert garbled.message.startswith("the body is not JSON")


def test_head_is_checked_as_get_without_a_body(schemas):
    assert schemas.check(answer(THING_PATH, 200, method="HEAD")) == []
    assert schemas.check(answer(THING_PATH, 500, method="HEAD"))[0].message.startswith("status 500")


def test_it_leaves_paths_outside_the_schema_alone(schemas):
    assert schemas.check(answer("/order/v2/thing/1/probe", 500, b"anything")) is None
    assert schemas.check(answer(f"{THING_PATH}/", 200, b"")) is None


def test_a_known_mismatch_covers_only_its_operation_status_place_and_test():
    known = Known("thing_read", 200, "/items/*", "why", test="test_x")
    at = Mismatch("thing_read", "GET", THING_PATH, 200, "/items/3", "m")

    assert known.covers(at, "test_x")
    assert not known.covers(at, "test_y")
    assert not known.covers(Mismatch("thing_read", "GET", THING_PATH, 200, "/items/3/name", "m"), "test_x")
    assert not known.covers(Mismatch("thing_read", "GET", THING_PATH, 201, "/items/3", "m"), "test_x")


def run_call_hook(item: pytest.Item, schemas: ResponseSchemas, *answers: RecordedResponse) -> None:
    """Run the plugin's check after a test's call, as if that test had received ``answers``."""
    session = schema_conformance._Session(urlconf="unused")
    session.__dict__["schemas"] = schemas  # the cached property, preset
    session.recording = list(answers)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema_conformance, "_session", session)
        hook = schema_conformance.pytest_runtest_call(item)
        next(hook)
        with pytest.raises(StopIteration):
            hook.send(None)


def test_the_test_that_received_a_nonconforming_answer_fails_naming_path_status_place_and_problem(schemas, request):
    with pytest.raises(pytest.fail.Exception) as failed:
        run_call_hook(request.node, schemas, answer(THING_PATH, 200, THING_BODY), answer(THING_PATH, 200, {"a": 1}))

    assert str(failed.value) == (
        "1 response(s) do not conform to the OpenAPI schema:\n"
        f"  GET {THING_PATH} -> 200 [thing_read] at /: 'uuid' is a required property (and 4 more)"
    )


def test_a_known_mismatch_does_not_fail_the_test(schemas, request, monkeypatch):
    monkeypatch.setattr(schema_conformance, "KNOWN_MISMATCHES", (Known("thing_read", 200, "/price", "why"),))

    run_call_hook(request.node, schemas, answer(THING_PATH, 200, {**THING_BODY, "price": 1}))
    with pytest.raises(pytest.fail.Exception, match="at /note"):
        run_call_hook(request.node, schemas, answer(THING_PATH, 200, {**THING_BODY, "price": 1, "note": 1}))


class TestTheProjectsSchema:
    """The same check against the document drf-spectacular generates for OrMa."""

    def path(self) -> str:
        return f"/order/v2/department/{uuid.uuid4()}/order"

    def envelope(self, **changes: object) -> dict:
        return {"errors": [], "warnings": [], "orderUUID": str(uuid.uuid4()), "statusCode": 201, **changes}

    def test_a_conforming_envelope_passes(self):
        assert project_schemas().check(answer(self.path(), 201, self.envelope(), method="PUT")) == []

    def test_an_altered_envelope_is_caught(self):
        bad_error = {"errorCode": "FIELD_INVALID", "errorTitle": "t", "errorDescription": "d"}

        (mismatch,) = project_schemas().check(answer(self.path(), 400, self.envelope(errors=[bad_error]), method="PUT"))

        assert (mismatch.operation, mismatch.pointer) == ("repair_order_create", "/errors/0")
        assert mismatch.message == "'errorUID' is a required property"

    def test_a_500_is_undocumented(self):
        (mismatch,) = project_schemas().check(answer(self.path(), 500, self.envelope(statusCode=500)))

        assert mismatch.message.startswith("status 500 is not documented")


@pytest.mark.django_db
def test_every_api_answer_a_test_receives_is_recorded_error_middleware_included(api, department):
    listed = api.get(f"/order/v2/department/{department.uuid}/order")
    unrouted = api.get("/order/v2/department/not-a-uuid/order")  # no view: the error middleware answers
    api.get("/healthz")  # not an API path: not recorded

    assert (listed.status_code, unrouted.status_code) == (200, 404)
    assert [(r.method, r.path, r.status) for r in recorded_responses()] == [
        ("GET", f"/order/v2/department/{department.uuid}/order", 200),
        ("GET", "/order/v2/department/not-a-uuid/order", 404),
    ]
    assert json.loads(recorded_responses()[1].body)["errors"][0]["errorCode"] == "NOT_FOUND"


@pytest.mark.schema_exempt(reason="proves that an exempt test's answers are not recorded")
@pytest.mark.django_db
def test_an_exempt_test_is_not_recorded(api, department):
    assert api.generic("TRACE", f"/order/v2/department/{department.uuid}/order").status_code == 405
    assert recorded_responses() is None
