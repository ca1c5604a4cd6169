"""Schema conformance: every API response a test receives is checked against the OpenAPI schema.

The schema serializers (what ``/api/schema/`` documents) and the views' hand-built bodies are two
descriptions of one contract; this plugin keeps them in agreement. For the whole session it records what
Django's test ``Client`` (and so DRF's ``APIClient``, its subclass) hands to a test under the three API
prefixes, error-middleware answers included, finds the operation in the generated OpenAPI document by
path template and method, and validates the JSON body against the schema documented for that status (or
``default``). It reads nothing but the document, so moving views and serializers between modules does
not touch it.

The test that received the response fails when, on a path the schema documents,
- the method is not an operation of the path, or the status is not documented for the operation: the
  schema must describe every answer the API gives;
- the body is not what the documented schema allows. Objects are closed: a key the schema does not name
  is a mismatch too, since the serializer must describe the whole answer, not a part of it.

Paths the schema does not document at all (the probes of ``tests/probe_urls.py``, the admin, health) are
not checked. A test that deliberately sends what the schema cannot describe (a method the API does not
offer) is marked ``@pytest.mark.schema_exempt(reason=...)``; never a test of a real mismatch, which goes
to ``KNOWN_MISMATCHES`` until its serializer is fixed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import best_match, relevance

API_PREFIXES = ("/order/v2/", "/parts-api/", "/notification/v1/")


@dataclass(frozen=True)
class Known:
    """A known mismatch, tolerated until its cause is fixed: where (``at``: a JSON pointer into the body,
    ``*`` for any one segment, "" for the status line) in the answers of which operation and status,
    optionally only in one test (by function name, which survives moving the test), and why."""

    operation: str
    status: int
    at: str
    reason: str
    test: str | None = None

    def covers(self, mismatch: Mismatch, test_name: str) -> bool:
        pattern = "[^/]+".join(re.escape(part) for part in self.at.split("*"))
        return (
            (mismatch.operation, mismatch.status) == (self.operation, self.status)
            and (self.test is None or self.test == test_name)
            and re.fullmatch(pattern, mismatch.pointer) is not None
        )


# Today's known mismatches, in one place. Each says what must change; remove the entry with the fix (the
# summary of a whole-suite run names entries no response needed any more). A response fails its test as
# soon as one of its mismatches is not covered here.
KNOWN_MISMATCHES: tuple[Known, ...] = ()

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# ``jsonschema`` checks date-time only with an optional package; RFC 3339 is simple enough to check here.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_rfc3339_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return _RFC3339.fullmatch(value) is not None and bool(dt.datetime.fromisoformat(value.replace("z", "Z")))


@dataclass(frozen=True)
class RecordedResponse:
    """What a test received: enough to find its operation and check its body."""

    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Mismatch:
    """One way a response differs from its schema; ``pointer`` is a JSON pointer into the body."""

    operation: str
    method: str
    path: str
    status: int
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} [{self.operation}] at {self.pointer or '/'}: {self.message}"


def json_schema_of(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema draft 4: ``nullable`` as the null type, objects closed.

    Draft 4 is the dialect OpenAPI 3.0 builds on (boolean ``exclusiveMinimum``, ``$ref`` siblings
    ignored). An object that lists its ``properties`` admits no other key unless it says so with
    ``additionalProperties``; drf-spectacular composes only with one-element ``allOf``/``oneOf``, so no
    composition is broken by closing.
    """
    if not isinstance(schema, dict):
        return schema
    converted = dict(schema)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in converted:
            converted[key] = [json_schema_of(branch) for branch in converted[key]]
    for key in ("items", "not", "additionalProperties"):
        if isinstance(converted.get(key), dict):
            converted[key] = json_schema_of(converted[key])
    if "properties" in converted:
        converted["properties"] = {name: json_schema_of(value) for name, value in converted["properties"].items()}
        converted.setdefault("additionalProperties", False)
    if not converted.pop("nullable", False):
        return converted
    if "type" in converted:
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


def _template_pattern(template: str) -> re.Pattern[str]:
    literal_parts = re.split(r"\{[^}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts))


class ResponseSchemas:
    """The responses an OpenAPI 3.0 document declares, per operation and status, as validators compiled once."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._components = {
            "schemas": {
                name: json_schema_of(schema)
                for name, schema in document.get("components", {}).get("schemas", {}).items()
            }
        }
        self._paths = [
            (
                _template_pattern(template),
                template.count("{"),
                template,
                {method.upper(): operation for method, operation in item.items() if method in _HTTP_METHODS},
            )
            for template, item in document.get("paths", {}).items()
        ]
        self._validators: dict[tuple[str, str, str], Draft4Validator] = {}

    def path_item(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """The template and operations of the documented path ``path`` matches (concrete before templated)."""
        matches = [(params, template, ops) for pattern, params, template, ops in self._paths if pattern.fullmatch(path)]
        if not matches:
            return None
        _, template, operations = min(matches, key=lambda match: match[0])
        return template, operations

    def check(self, response: RecordedResponse) -> list[Mismatch] | None:
        """The ways ``response`` differs from its documented schema, the most relevant first (empty: it
        conforms); None when its path is not documented at all, so nothing can be said."""
        found = self.path_item(response.path)
        if found is None:
            return None
        template, operations = found
        operation = operations.get("GET" if response.method == "HEAD" else response.method)  # HEAD: GET's answer
        operation_id = (operation or {}).get("operationId") or f"{response.method} {template}"
        try:
            validator = self._body_validator(operation_id, operation, response)
            if validator is None:
                return []
            body = json.loads(response.body)
        except _Undocumented as undocumented:
            return [_mismatch(operation_id, response, "", str(undocumented))]
        except ValueError as exc:
            return [_mismatch(operation_id, response, "", f"the body is not JSON: {exc}")]
        # an anyOf (a nullable object) fails as a whole; its most relevant branch error says why
        errors = [best_match([error]) for error in sorted(validator.iter_errors(body), key=relevance, reverse=True)]
        return [
            _mismatch(operation_id, response, "".join(f"/{part}" for part in error.absolute_path), error.message)
            for error in errors
        ]

    def _body_validator(
        self, operation_id: str, operation: dict[str, Any] | None, response: RecordedResponse
    ) -> Draft4Validator | None:
        """The validator of the body documented for the response's status and media type (None: no body to
        check); raises _Undocumented when the schema does not describe this answer."""
        if operation is None:
            raise _Undocumented(f"{response.method} is not an operation of this path")
        responses = operation.get("responses", {})
        candidates = (str(response.status), f"{response.status // 100}XX", "default")
        status_key = next((key for key in candidates if key in responses), None)
        if status_key is None:
            raise _Undocumented(f"status {response.status} is not documented (documented: {', '.join(responses)})")
        content = responses[status_key].get("content") or {}
        if response.method == "HEAD" or (not content and not response.body):
            return None
        media_type = response.content_type.split(";")[0].strip()
        if media_type not in content:
            raise _Undocumented(f"Content-Type {media_type!r} is not documented (documented: {', '.join(content)})")
        if "schema" not in content[media_type]:
            return None
        key = (operation_id, status_key, media_type)
        if key not in self._validators:
            # the components travel in the root so that "#/components/schemas/..." resolves as in the document
            root = {"components": self._components, "allOf": [json_schema_of(content[media_type]["schema"])]}
            self._validators[key] = Draft4Validator(root, format_checker=FORMATS)
        return self._validators[key]


class _Undocumented(Exception):
    """The schema does not describe the answer at all (method, status or media type)."""


def _mismatch(operation_id: str, response: RecordedResponse, pointer: str, message: str) -> Mismatch:
    return Mismatch(operation_id, response.method, response.path, response.status, pointer, _shortened(message))


def _shortened(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else f"{message[:limit]}…"


# --- the pytest plugin ---------------------------------------------------------------------------


class _Session:
    """The plugin's state for one pytest session: the schema, the current test's responses, the tally."""

    def __init__(self, urlconf: str) -> None:
        self.urlconf = urlconf
        self.recording: list[RecordedResponse] | None = None
        self.checked = 0
        self.tolerated = 0  # responses whose every mismatch is known
        self.known_seen: set[Known] = set()
        self.log: list[dict[str, Any]] = []

    @functools.cached_property
    def schemas(self) -> ResponseSchemas:
        from drf_spectacular.settings import spectacular_settings

        generator = spectacular_settings.DEFAULT_GENERATOR_CLASS(urlconf=self.urlconf)
        return ResponseSchemas(generator.get_schema(request=None, public=True))

    def failures(self, item: pytest.Item) -> Iterator[list[Mismatch]]:
        """Check the current test's responses; yield each response's mismatches that are not all known."""
        test_name = getattr(item, "originalname", item.name)
        for response in self.recording or ():
            mismatches = self.schemas.check(response)
            if mismatches is None:
                continue
            self.checked += 1
            self.log.extend({"test": item.nodeid, **asdict(mismatch)} for mismatch in mismatches)
            unknown = []
            for mismatch in mismatches:
                known = next((known for known in KNOWN_MISMATCHES if known.covers(mismatch, test_name)), None)
                if known is None:
                    unknown.append(mismatch)
                else:
                    self.known_seen.add(known)
            if unknown:
                yield unknown
            elif mismatches:
                self.tolerated += 1


_session: _Session | None = None
_client_request = Client.request


def project_schemas() -> ResponseSchemas:
    """The response schemas of the project's OpenAPI document, generated once per session."""
    assert _session is not None, "the schema_conformance plugin is not active"
    return _session.schemas


def recorded_responses() -> list[RecordedResponse] | None:
    """The API answers the running test received so far (None: not recorded, e.g. under schema_exempt)."""
    return _session.recording if _session is not None else None


def _recording_request(self: Client, **request: Any) -> Any:
    """Django's ``Client.request``, recording the answer for the running test (APIClient goes through it)."""
    response = _client_request(self, **request)
    recording = _session.recording if _session is not None else None
    wsgi_request = getattr(response, "wsgi_request", None)
    if recording is not None and wsgi_request is not None and wsgi_request.path_info.startswith(API_PREFIXES):
        recording.append(
            RecordedResponse(
                method=wsgi_request.method,
                path=wsgi_request.path_info,
                status=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=b"" if response.streaming else response.content,
            )
        )
    return response


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--schema-mismatch-log",
        metavar="FILE",
        help="write every response/schema mismatch seen (known ones included) to FILE as JSON lines",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    global _session
    from django.conf import settings

    # read before any test overrides it: the schema is the project's, whatever URLconf a test uses
    _session = _Session(settings.ROOT_URLCONF)
    Client.request = _recording_request  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session) -> None:
    Client.request = _client_request  # type: ignore[method-assign]
    path = session.config.getoption("--schema-mismatch-log")
    if path and _session is not None:
        with open(path, "w", encoding="utf-8") as log:
            log.writelines(json.dumps(entry) + "\n" for entry in _session.log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    marker = item.get_closest_marker("schema_exempt")
    if marker is not None and not marker.kwargs.get("reason"):
        pytest.fail("@pytest.mark.schema_exempt needs reason=: why the schema cannot describe what this test sends")
    if _session is not None and marker is None:
        _session.recording = []  # fixtures' requests count too: they are answers of the API
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield  # a test that failed already fails for its own reason
    if _session is not None:
        failures = list(_session.failures(item))
        if failures:
            lines = [f"{len(failures)} response(s) do not conform to the OpenAPI schema:"]
            for mismatches in failures:
                more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
                lines.append(f"  {mismatches[0]}{more}")
            pytest.fail("\n".join(lines), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    try:
        return (yield)
    finally:
        if _session is not None:
            _session.recording = None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _session is None or not _session.checked:
        return
    tolerated = _session.tolerated
    terminalreporter.write_line(
        f"schema conformance: {_session.checked} API responses checked against the OpenAPI schema"
        + (f"; {tolerated} with known mismatches only (KNOWN_MISMATCHES)" if tolerated else "")
    )
    config = terminalreporter.config
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS and not (
        config.option.keyword or config.option.markexpr
    )
    unused = [known for known in KNOWN_MISMATCHES if known not in _session.known_seen]
    if unused and whole_suite:
        for known in unused:
            terminalreporter.write_line(
                f"  KNOWN_MISMATCHES entry no response needed: {known.operation} {known.status} at {known.at or '/'}"
            )
