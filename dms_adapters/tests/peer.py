"""A strict DMS peer for tests: a real HTTP server on 127.0.0.1 speaking seed 001 (myKaarma repair orders)
and seed 002 (Keyloop parts orders), so the adapters are tested against sockets, not mocks.

    with DmsPeer() as peer:                     # or the ``dms_peer`` fixture (dms_adapters/tests/conftest.py)
        peer.connect(dealer, DmsKind.MYKAARMA)  # the dealer's DMS is this peer, with its credentials
        peer.fail(500, times=2)                 # the next two requests answer 500
        ...
        assert len(peer.orders_of(repair_order.uuid)) == 1

What it checks, as the seeds state it (every problem of a request at once):

- Basic credentials on every request (401 in the protocol's error shape otherwise);
- seed 001 (``PUT|POST /order/v2/department/{departmentUUID}/order`` and ``PUT .../order/{orderUUID}``):
  ``Content-Type: application/json`` and a JSON object with ``order`` (else ``MALFORMED_JSON``); every field
  a string; ``type`` ``RO``; ``header.orderNumber`` required, ≤ 50 characters, ``^[a-zA-Z0-9-#_\\s]*$``;
  ``status`` ``OPENED``/``PRE-INVOICED``/``CLOSED``; ``advisorNumber`` or ``assignedUserUuid``;
  ``createDate``/``createTime`` required, real ``yyyy-MM-dd``/``HH:mm:ss``; ``voidDate`` ``yyyy-MM-dd HH:mm:ss``;
  money ``^\\d{1,10}(\\.\\d{1,2})?$``; ``waiter``/``rental`` ``Y``/``N``; ``customer.uuid``; each job's
  ``jobNumberString`` and ``laborOpCode``; each part's ``partNumber``; the WorkshopOrder 2.x fields of DESIGN
  §4. A field it does not know is an error (``FIELD_UNKNOWN``): the adapter must send nothing else.
  Errors answer 400 with seed 001's envelope ``{errors: [{errorCode, errorTitle, errorDescription, errorUID}],
  warnings, orderUUID, statusCode}``;
- seed 002 (``POST {enterpriseId}/{storeId}/v1/parts-orders``, ``GET .../parts-orders/{partsOrderId}``): the
  request's fields, types and values (``customerId`` a UUID, ``orderType`` one of the five, ``quantity`` a
  positive integer, ``partId`` = ``brandCode`` + ``partCode`` when all are given, no unknown field); errors
  answer 400 (404 for an unknown order) with ``{correlationId, message, details: [{field, value, issue}],
  links}``.

How it behaves:

- myKaarma: a create answers 201 with a new ``orderUUID``; an update 200. Its duplicate rule is seed 001's:
  a create (or an update changing number or instant) whose order number equals another order's in the same
  department, with creation instants at most 30 days apart, answers 409 ``DUPLICATE_ORDER`` naming the
  closest such order's UUID in ``errorDescription``. It recognises OrMa's pushes by ``Idempotency-Key``
  ``<orderUUID>:<version>``: a create for an OrMa order it already holds (a retry after a lost answer, or a
  newer version pushed as a create) writes to that DMS order instead of making a second one. It writes
  every valid push it gets, newest or not, and remembers the versions in the order they came
  (:meth:`DmsPeer.versions_seen`), so a test can assert that an older version never followed a newer one.
- Keyloop: a parts order answers 201 with the whole order (lines ``RESERVED``, or ``BACKORDER`` for the parts
  in ``backorder_parts``), or 202 ``{"partsOrderId"}`` when ``parts_orders_async`` is set; a GET answers the
  order with the line statuses a test set (:meth:`DmsPeer.set_line_statuses`). A repeated
  ``Idempotency-Key`` answers the first answer again.
- Faults, matched by method and path (a regular expression searched in the path), each for ``times``
  requests (None: until cleared), checked before anything else: :meth:`DmsPeer.fail` (a status, e.g. 500 or
  429 with ``Retry-After``), :meth:`DmsPeer.hang` (hold the request longer than the client waits, then do
  the work and answer a client that has likely gone: the case idempotency must cover), :meth:`DmsPeer.refuse`
  (business errors in the protocol's shape).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parts.rules import derive_order_status

MONEY = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
QUANTITY = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
WHOLE = re.compile(r"^\d{1,10}$")
ORDER_NUMBER = re.compile(r"^[a-zA-Z0-9-#_\s]*$")
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
WINDOW = dt.timedelta(days=30)
FIRST_PARTS_ORDER_ID = 123445677  # seed 002's sample id

MYKAARMA_PATH = re.compile(r"^/order/v2/department/(?P<department>[^/]+)/order(?:/(?P<order>[^/]+))?$")
KEYLOOP_PATH = re.compile(r"^/(?P<enterprise>[^/]+)/(?P<store>[^/]+)/v1/parts-orders(?:/(?P<order>[^/]+))?$")

# --- field rules --------------------------------------------------------------------------------

Check = Callable[[Any], str | None]  # a value's problem, or None


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _matching(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return None if pattern.match(value) else f"must be {what}"

    return check


def _moment(format_: str, what: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        try:
            parsed = dt.datetime.strptime(value, format_)  # noqa: DTZ007 - seed 001's values are UTC, zone-less
        except ValueError:
            return f"must be a real {what}"
        return None if parsed.strftime(format_) == value else f"must be {what}"  # no "2024-2-1"

    return check


def _one_of(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _max_length(limit: int) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return None if len(value) <= limit else f"must be at most {limit} characters"

    return check


def _order_number(value: Any) -> str | None:
    problem = _max_length(50)(value) or _matching(ORDER_NUMBER, "^[a-zA-Z0-9-#_\\s]*$")(value)
    return problem or (None if value.strip() else "must not be blank")


def _positive_integer(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive integer"


def _string_or_integer(value: Any) -> str | None:
    ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    return None if ok else "must be a string or a number"


def _country(value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) == 2 and value.isalpha()
    return None if ok else "must be an ISO 3166-1 alpha-2 code"


MONEY_CHECK = _matching(MONEY, 'numeric with up to 2 decimal places, like "12.56"')
QUANTITY_CHECK = _matching(QUANTITY, "a number with up to 2 decimal places")
DATE = _moment("%Y-%m-%d", "date yyyy-MM-dd")
TIME = _moment("%H:%M:%S", "time HH:mm:ss")
DATE_TIME = _moment("%Y-%m-%d %H:%M:%S", "date-time yyyy-MM-dd HH:mm:ss")
YES_NO = _one_of("Y", "N")


@dataclass(frozen=True)
class Value:
    check: Check = _string
    required: bool = False


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Value | Obj | Many]
    required: bool = False


@dataclass(frozen=True)
class Many:
    item: Obj
    required: bool = False
    non_empty: bool = False


def _strings(names: str, check: Check = _string) -> dict[str, Value]:
    return {name: Value(check) for name in names.split()}


SEED_001_HEADER = Obj(
    {
        "orderNumber": Value(_order_number, required=True),
        **_strings("serviceAccount accountingAccount"),
        "status": Value(_one_of("OPENED", "PRE-INVOICED", "CLOSED"), required=True),
        **_strings("deptType advisorNumber advisorName assignedUserUuid creatorUserUuid appointmentNumber tagNumber"),
        **_strings("mileageIn mileageOut", _matching(WHOLE, "a whole number")),
        "createDate": Value(DATE, required=True),
        "createTime": Value(TIME, required=True),
        "promisedDate": Value(DATE),
        "promisedTime": Value(TIME),
        "voidDate": Value(DATE_TIME),
        "closeDate": Value(DATE),
        "closeTime": Value(TIME),
        "waiter": Value(YES_NO),
        "rental": Value(YES_NO),
        **_strings("soldHours actualHours", QUANTITY_CHECK),
        **_strings(
            "laborCost laborSale laborSaleCustomer laborSaleInternal laborSaleWarranty partsCost partsCostCustomer"
            " partsCostInternal partsCostWarranty partsSale partsSaleCustomer partsSaleInternal partsSaleWarranty"
            " lubeSale lubeSaleCustomer lubeSaleInternal lubeSaleWarranty miscSale miscSaleCustomer miscSaleInternal"
            " miscSaleWarranty subletSale subletSaleCustomer subletSaleInternal subletSaleWarranty customerPayAmount"
            " customerPayStateTax internalPayAmount warrantyPayAmount",
            MONEY_CHECK,
        ),
        "description": Value(),
    },
    required=True,
)
SEED_001_MLS = Obj(
    {
        **_strings("laborType opCode opCodeDesc failureCode"),
        **_strings("salePrice costPrice", MONEY_CHECK),
        **_strings("saleCompany sourceCompany lineCode poNumber"),
        "poCreateDate": Value(DATE),
        **_strings("poLineID mlsType"),
        **_strings("description vendor"),  # WorkshopOrder 2.x, sublets
    }
)
SEED_001_JOB = Obj(
    {
        "jobIdentifier": Value(),
        "jobNumberString": Value(required=True),
        "lopSeqNumber": Value(),
        "laborOpCode": Value(required=True),
        **_strings("laborOpCodeDesc laborType"),
        "laborSale": Value(MONEY_CHECK),
        **_strings("soldHours actualHours", QUANTITY_CHECK),
        **_strings("partsSale miscSale", MONEY_CHECK),
        **_strings("bookerNo dispatchLineStatus techNo campaignCode"),
        "parts": Many(
            Obj(
                {
                    "partNumber": Value(required=True),
                    **_strings("description seqNo"),
                    **_strings("quantityOrdered quantitySold", QUANTITY_CHECK),
                    **_strings("cost salePrice saleTotal", MONEY_CHECK),
                    "laborType": Value(),
                    "packageCode": Value(),  # WorkshopOrder 2.x: the package that brought the line
                }
            )
        ),
        "gog": Many(
            Obj(
                {
                    **_strings("itemType itemDescription jobNumber"),
                    "quantity": Value(QUANTITY_CHECK),
                    **_strings("saleTotal salePrice", MONEY_CHECK),
                    "laborType": Value(),
                }
            )
        ),
        "techHours": Many(
            Obj(
                {
                    **_strings("techNo partSeqNo"),
                    **_strings("laborCost laborSale", MONEY_CHECK),
                    **_strings("soldHours otherHours", QUANTITY_CHECK),
                    "laborType": Value(),
                }
            )
        ),
        "comments": Many(
            Obj({**_strings("comment lastUpdatedBy"), "updateDate": Value(DATE), "updateTime": Value(TIME)})
        ),
        "ccc": Obj(_strings("complaint complaintCode cause correction")),
        "mls": Many(SEED_001_MLS),  # DESIGN §4: a job holds mls lines too
        # WorkshopOrder 2.x
        "packages": Many(Obj({"packageCode": Value(required=True), "quantity": Value(QUANTITY_CHECK)})),
        "labour": Many(
            Obj({**_strings("laborOpCode laborOpCodeDesc"), "soldHours": Value(QUANTITY_CHECK), "packageCode": Value()})
        ),
    }
)
SEED_001_ORDER = Obj(
    {
        "type": Value(_one_of("RO"), required=True),
        "header": SEED_001_HEADER,
        "vehicle": Obj({"uuid": Value(), "vin": Value(_matching(re.compile(r"^[A-HJ-NPR-Z0-9]{17}$"), "a VIN"))}),
        "customer": Obj({"uuid": Value(required=True)}, required=True),
        "jobs": Many(SEED_001_JOB),
        "mls": Many(SEED_001_MLS),
        # WorkshopOrder 2.x
        "references": Many(
            Obj(
                {
                    "type": Value(_one_of("APPOINTMENT", "BOOKING", "CLAIM", "PARTNER_ORDER_ID"), required=True),
                    "value": Value(required=True),
                }
            )
        ),
        "customerContact": Obj(_strings("name phone email")),
        "warranty": Obj(
            {"warrantyStartDate": Value(DATE), "extendedWarrantyUntil": Value(DATE), "claimReference": Value()}
        ),
    },
    required=True,
)

SEED_002_REQUEST = Obj(
    {
        "customerId": Value(_matching(UUID_TEXT, "a UUID"), required=True),
        "companyId": Value(_matching(UUID_TEXT, "a UUID")),
        "orderContact": Obj(_strings("name phone email companyName")),
        "alternateDeliveryAddress": Obj(
            {
                "streetName": Value(),
                "postalCode": Value(_string_or_integer),
                "city": Value(),
                "countryCode": Value(_country),
            }
        ),
        "orderType": Value(_one_of("EMG", "VOR", "STK", "DPO", "COL"), required=True),
        "orderReference": Value(_max_length(100)),
        "parts": Many(
            Obj(
                {
                    "part": Obj(
                        {"partId": Value(), "brandCode": Value(), "partCode": Value(_string_or_integer)}, required=True
                    ),
                    "quantity": Value(_positive_integer, required=True),
                    "mandatoryVehicleReferences": Many(
                        Obj({"type": Value(required=True), "value": Value(required=True)})
                    ),
                }
            ),
            required=True,
            non_empty=True,
        ),
    },
    required=True,
)


def _walk(spec: Obj | Many | Value, value: Any, path: str, problems: list[tuple[str, str, Any, str]]) -> None:
    """Append ``(code, path, value, issue)`` for every way ``value`` breaks ``spec``."""
    if isinstance(spec, Value):
        issue = spec.check(value)
        if issue:
            problems.append(("FIELD_INVALID", path, value, issue))
    elif isinstance(spec, Many):
        if not isinstance(value, list):
            problems.append(("FIELD_INVALID", path, value, "must be a list"))
            return
        if spec.non_empty and not value:
            problems.append(("FIELD_REQUIRED", path, value, "must hold at least one item"))
        for index, item in enumerate(value):
            _walk(spec.item, item, f"{path}[{index}]", problems)
    else:
        if not isinstance(value, dict):
            problems.append(("FIELD_INVALID", path, value, "must be an object"))
            return
        for key in value:
            if key not in spec.fields:
                problems.append(("FIELD_UNKNOWN", f"{path}.{key}", value[key], "is not a field of this request"))
        for key, sub in spec.fields.items():
            if value.get(key) is None:
                if sub.required:
                    problems.append(("FIELD_REQUIRED", f"{path}.{key}", None, "is required"))
                continue
            _walk(sub, value[key], f"{path}.{key}", problems)


def seed_001_problems(body: Any) -> list[tuple[str, str, Any, str]]:
    """Everything wrong with a seed-001 request body (empty: valid)."""
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        return [("MALFORMED_JSON", "order", None, "the body must be a JSON object with order")]
    problems: list[tuple[str, str, Any, str]] = []
    for key in body:
        if key != "order":
            problems.append(("FIELD_UNKNOWN", key, body[key], "is not a field of this request"))
    _walk(SEED_001_ORDER, body["order"], "order", problems)
    header = body["order"].get("header")
    if isinstance(header, dict) and not (
        str(header.get("advisorNumber") or "").strip() or header.get("assignedUserUuid")
    ):
        problems.append(("FIELD_REQUIRED", "order.header.advisorNumber", None, "or assignedUserUuid is required"))
    return problems


def seed_002_problems(body: Any) -> list[tuple[str, str, Any, str]]:
    """Everything wrong with a seed-002 ``PartsOrderCreateRequest`` (empty: valid)."""
    problems: list[tuple[str, str, Any, str]] = []
    _walk(SEED_002_REQUEST, body, "", problems)
    problems = [(code, path.lstrip("."), value, issue) for code, path, value, issue in problems]
    for index, line in enumerate(body.get("parts") or [] if isinstance(body, dict) else []):
        part = line.get("part") if isinstance(line, dict) else None
        if not isinstance(part, dict):
            continue
        part_id, brand, code = part.get("partId"), part.get("brandCode"), part.get("partCode")
        if not part_id and not (brand and code):
            problems.append(("FIELD_REQUIRED", f"parts[{index}].part.partId", None, "or brandCode and partCode"))
        elif part_id and brand and code is not None and part_id != f"{brand}{code}":
            problems.append(("FIELD_INVALID", f"parts[{index}].part.partId", part_id, "must be brandCode + partCode"))
    return problems


# --- what the peer holds ------------------------------------------------------------------------


@dataclass
class Recorded:
    """One request the peer received, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON, or None
    status: int | None = None  # None while it is being answered
    answer: Any = None  # the JSON answered

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class PeerRepairOrder:
    """A repair order the peer holds."""

    uuid: str
    department: str
    order: dict[str, Any]  # the last body's ``order``
    partner_order: str | None = None  # OrMa's order UUID, from the Idempotency-Key
    version: int | None = None  # the version of the last write
    writes: list[int | None] = field(default_factory=list)  # the versions written, in order

    @property
    def order_number(self) -> str:
        return self.order["header"]["orderNumber"]

    @property
    def instant(self) -> dt.datetime:
        return _instant(self.order["header"])


@dataclass
class PeerPartsOrder:
    """A parts order the peer holds."""

    id: int
    enterprise: str
    store: str
    request: dict[str, Any]
    line_ids: list[str]
    line_statuses: list[str]
    created_at: dt.datetime


@dataclass
class Fault:
    """What the peer does instead of its work, for requests that match."""

    action: str  # "fail", "hang" or "refuse"
    status: int = 500
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    retry_after: str | None = None
    seconds: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or bool(re.search(self.path, path))
        )


def _instant(header: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(f"{header['createDate']} {header['createTime']}", "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=dt.UTC
    )


def _split_key(key: str | None) -> tuple[str | None, int | None]:
    """``<orderUUID>:<version>`` into its parts (None for what is missing or unreadable)."""
    if not key:
        return None, None
    order, _, version = key.rpartition(":")
    if not order:
        return key, None
    return order, int(version) if version.isdigit() else None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _PeerServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait for a delayed ACK

    def _handle(self) -> None:
        self.server.peer._handle(self)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _handle

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


class _PeerServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    peer: DmsPeer


class DmsPeer:
    """The strict DMS peer (see the module's docstring). Start it with ``start()`` or ``with``; stop it."""

    def __init__(self, *, username: str = "dms-user", password: str = "dms-secret") -> None:
        self.username = username
        self.password = password
        self.departments: set[str] | None = None  # myKaarma departments it knows (None: any)
        self.parts_orders_async = False  # answer parts orders 202, to be polled
        self.parts_as_object = False  # answer a one-line order's ``parts`` as an object, as seed 002's sample
        self.backorder_parts: set[str] = set()  # partIds whose lines start as BACKORDER
        self.requests: list[Recorded] = []
        self.repair_orders: dict[str, PeerRepairOrder] = {}
        self.parts_orders: dict[int, PeerPartsOrder] = {}
        self._versions_seen: dict[str, list[int | None]] = {}
        self._answers_by_key: dict[str, tuple[int, dict[str, Any]]] = {}
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self._released = threading.Event()
        self._server: _PeerServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> DmsPeer:
        self._released.clear()
        self._server = _PeerServer(("127.0.0.1", 0), _Handler)
        self._server.peer = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests on hold are let go at once."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DmsPeer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the peer is not started"
        return self._server.server_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, dealer: Any, kind: str) -> Any:
        """Point ``dealer``'s DMS (of ``kind``) at this peer with its credentials; answers the dealer, saved."""
        dealer.dms_kind = kind
        dealer.dms_base_url = self.base_url
        dealer.dms_username, dealer.dms_password = self.username, self.password
        dealer.save()
        return dealer

    def release(self) -> None:
        """Let every request on hold go on now (and any held later too)."""
        self._released.set()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being handled (one on hold finishes its work first)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout):
                raise AssertionError(f"the peer still handles {self._in_flight} request(s) after {timeout} s")

    # --- what a test tells it ---------------------------------------------------------------------

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: str | int | None = None,
    ) -> None:
        """Answer ``status`` (e.g. 500, 503, or 429 with ``Retry-After``) to the next ``times`` matching requests."""
        after = None if retry_after is None else str(retry_after)
        self._add(Fault("fail", status, times, method, path, retry_after=after))

    def hang(
        self, seconds: float, *, times: int | None = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Hold the next matching requests ``seconds`` (or until released or stopped), then do the work and
        answer: the client has usually given up by then."""
        self._add(Fault("hang", times=times, method=method, path=path, seconds=seconds))

    def refuse(
        self,
        errors: list[dict[str, Any]],
        *,
        status: int = 400,
        message: str = "Invalid request",
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer business errors, in the protocol's shape (seed 001's ``errors`` or seed 002's ``details``)."""
        self._add(Fault("refuse", status, times, method, path, errors=errors, message=message))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def add_repair_order(self, department: str, *, order_number: str, create_date: str, create_time: str) -> str:
        """An order the DMS holds already (made there, not by OrMa); answers its UUID."""
        order = {
            "type": "RO",
            "header": {
                "orderNumber": order_number,
                "status": "OPENED",
                "createDate": create_date,
                "createTime": create_time,
            },
            "customer": {"uuid": str(uuid.uuid4())},
        }
        held = PeerRepairOrder(str(uuid.uuid4()), department, order)
        with self._lock:
            self.repair_orders[held.uuid] = held
        return held.uuid

    def set_line_statuses(self, parts_order_id: int | str, statuses: list[str]) -> None:
        with self._lock:
            self.parts_orders[int(parts_order_id)].line_statuses = list(statuses)

    # --- what a test asks it ----------------------------------------------------------------------

    def orders_of(self, partner_order: Any) -> list[PeerRepairOrder]:
        """The DMS orders OrMa's order (its UUID) was written to: exactly one when all is well."""
        with self._lock:
            return [order for order in self.repair_orders.values() if order.partner_order == str(partner_order)]

    def versions_seen(self, partner_order: Any) -> list[int | None]:
        """The versions of OrMa's order the peer received in valid pushes, in the order they came."""
        with self._lock:
            return list(self._versions_seen.get(str(partner_order), []))

    def requests_to(self, path_pattern: str, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if re.search(path_pattern, r.path) and method in (None, r.method)]

    # --- serving ----------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        with self._lock:
            self._in_flight += 1
        try:
            self._serve(handler)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = handler.path
        recorded = Recorded(handler.command, path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.requests.append(recorded)
            fault = next((f for f in self._faults if f.matches(handler.command, path)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        headers: dict[str, str] = {}
        if handler.command == "HEAD":
            status, answer = 200, None
        elif fault is not None and fault.action == "hang":
            self._released.wait(fault.seconds)
            status, answer = self._answer(handler, recorded, raw)
        elif fault is not None and fault.action == "fail":
            status, answer = fault.status, {"message": f"fault: HTTP {fault.status}"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        elif fault is not None:
            status, answer = fault.status, self._refusal(recorded, fault)
        else:
            status, answer = self._answer(handler, recorded, raw)
        recorded.status, recorded.answer = status, answer
        self._write(handler, status, answer, headers)

    @staticmethod
    def _write(handler: _Handler, status: int, answer: dict[str, Any] | None, headers: dict[str, str]) -> None:
        payload = json.dumps(answer).encode() if answer is not None else b""
        try:
            handler.send_response(status)
            if status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="dms"'
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        except OSError:  # the client gave up (a timeout): nothing to answer
            pass

    def _refusal(self, recorded: Recorded, fault: Fault) -> dict[str, Any]:
        if recorded.path.startswith("/order/"):
            errors = [{"errorUID": str(uuid.uuid4()), **error} for error in fault.errors]
            return _envelope(fault.status, errors=errors)
        return _keyloop_error(recorded, fault.message, fault.errors)

    def _answer(self, handler: _Handler, recorded: Recorded, raw: bytes) -> tuple[int, dict[str, Any] | None]:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        mykaarma = MYKAARMA_PATH.match(recorded.path)
        keyloop = KEYLOOP_PATH.match(recorded.path)
        if handler.headers.get("Authorization") != expected:
            if mykaarma:
                return 401, _envelope(401, errors=[_error("UNAUTHENTICATED", "no or wrong credentials")])
            return 401, _keyloop_error(recorded, "Unauthorized", [])
        with self._lock:
            if mykaarma and recorded.method in ("PUT", "POST"):
                return self._repair_order(mykaarma, recorded, raw)
            if keyloop and recorded.method == "POST" and not keyloop["order"]:
                return self._parts_order_create(keyloop, recorded, raw)
            if keyloop and recorded.method == "GET" and keyloop["order"]:
                return self._parts_order_read(keyloop, recorded)
        return 404, {"message": f"no endpoint {recorded.method} {recorded.path}"}

    # --- myKaarma (seed 001) -----------------------------------------------------------------------

    def _repair_order(self, match: re.Match[str], recorded: Recorded, raw: bytes) -> tuple[int, dict[str, Any]]:
        department = match["department"]
        if self.departments is not None and department not in self.departments:
            return 404, _envelope(404, errors=[_error("NOT_FOUND", f"department {department} is unknown")])
        content_type = recorded.header("content-type") or ""
        if not content_type.startswith("application/json") or (raw and recorded.body is None):
            return 400, _envelope(400, errors=[_error("MALFORMED_JSON", "the body must be JSON")])
        problems = seed_001_problems(recorded.body)
        if problems:
            errors = [_error(code, f"{path} {issue}", value) for code, path, value, issue in problems]
            return 400, _envelope(400, errors=errors)
        order = recorded.body["order"]
        partner_order, version = _split_key(recorded.header("idempotency-key"))
        if match["order"]:
            held = self.repair_orders.get(match["order"])
            if held is None or held.department != department:
                return 404, _envelope(404, errors=[_error("NOT_FOUND", f"order {match['order']} is unknown")])
            status = 200
        else:
            held = next(
                (o for o in self.repair_orders.values() if partner_order and o.partner_order == partner_order), None
            )
            status = 200 if held else 201
        duplicate = self._duplicate_of(department, order["header"], held)
        if duplicate is not None:
            description = (
                f"order number {duplicate.order_number} exists within 30 days as order {duplicate.uuid}:"
                " use the update endpoint"
            )
            return 409, _envelope(409, errors=[_error("DUPLICATE_ORDER", description)])
        if held is None:
            held = PeerRepairOrder(str(uuid.uuid4()), department, order)
            self.repair_orders[held.uuid] = held
        held.order = order
        held.partner_order = partner_order or held.partner_order
        held.version = version
        held.writes.append(version)
        if partner_order:
            self._versions_seen.setdefault(partner_order, []).append(version)
        return status, _envelope(status, order_uuid=held.uuid)

    def _duplicate_of(
        self, department: str, header: dict[str, Any], itself: PeerRepairOrder | None
    ) -> PeerRepairOrder | None:
        """Seed 001's ±30-day rule: the closest other order with this number (nearest instant; a tie, the older)."""
        instant = _instant(header)
        same = [
            held
            for held in self.repair_orders.values()
            if held is not itself
            and held.department == department
            and held.order_number == header["orderNumber"]
            and abs(held.instant - instant) <= WINDOW
        ]
        return min(same, key=lambda held: (abs(held.instant - instant), held.instant), default=None)

    # --- Keyloop (seed 002) ------------------------------------------------------------------------

    def _parts_order_create(self, match: re.Match[str], recorded: Recorded, raw: bytes) -> tuple[int, dict[str, Any]]:
        key = recorded.header("idempotency-key")
        if key and key in self._answers_by_key:
            return self._answers_by_key[key]
        if raw and recorded.body is None:
            return 400, _keyloop_error(recorded, "Invalid request", [{"field": "", "value": "", "issue": "not JSON"}])
        problems = seed_002_problems(recorded.body)
        if problems:
            details = [
                {"field": path, "value": value, "issue": f"{code}: {issue}"} for code, path, value, issue in problems
            ]
            return 400, _keyloop_error(recorded, "Invalid request", details)
        lines = recorded.body["parts"]
        parts_order = PeerPartsOrder(
            id=FIRST_PARTS_ORDER_ID + len(self.parts_orders),
            enterprise=match["enterprise"],
            store=match["store"],
            request=recorded.body,
            line_ids=[str(uuid.uuid4()) for _ in lines],
            line_statuses=["BACKORDER" if _part_id(line) in self.backorder_parts else "RESERVED" for line in lines],
            created_at=dt.datetime.now(dt.UTC),
        )
        self.parts_orders[parts_order.id] = parts_order
        answer = (
            (202, {"partsOrderId": parts_order.id})
            if self.parts_orders_async
            else (201, self._parts_order_json(parts_order))
        )
        if key:
            self._answers_by_key[key] = answer
        return answer

    def _parts_order_read(self, match: re.Match[str], recorded: Recorded) -> tuple[int, dict[str, Any]]:
        held = self.parts_orders.get(int(match["order"])) if match["order"].isdigit() else None
        if held is None or (held.enterprise, held.store) != (match["enterprise"], match["store"]):
            details = [{"field": "partsOrderId", "value": match["order"], "issue": "no such parts order"}]
            return 404, _keyloop_error(recorded, "Not found", details)
        return 200, self._parts_order_json(held)

    def _parts_order_json(self, held: PeerPartsOrder) -> dict[str, Any]:
        """Seed 002's ``PartsOrder`` body."""
        request = held.request
        price = {"netValue": 100, "grossValue": 120, "taxValue": 20, "taxRate": 20, "currencyCode": "EUR"}
        lines = [
            {
                "orderLineId": line_id,
                "partId": _part_id(line),
                "quantity": line["quantity"],
                "unitOfMeasure": {"unit": "PIECE", "value": 1},
                "unitOfSale": 1,
                "partsOrderLineStatus": status,
                "mandatoryVehicleReference": (line.get("mandatoryVehicleReferences") or [None])[0],
                "listPrice": price,
                "orderPrice": price,
            }
            for line, line_id, status in zip(request["parts"], held.line_ids, held.line_statuses, strict=True)
        ]
        return {
            "partsOrderId": held.id,
            "partsOrderDateTime": held.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "orderStatus": derive_order_status(held.line_statuses).value,
            "customer": {"customerId": request["customerId"], "familyName": "", "givenName": "", "titleCommon": ""},
            "company": {"companyId": request["companyId"], "name": ""} if request.get("companyId") else None,
            "orderContact": request.get("orderContact"),
            "deliveryAddress": request.get("alternateDeliveryAddress"),
            "orderType": request["orderType"],
            "orderReference": request.get("orderReference"),
            "parts": lines[0] if self.parts_as_object and len(lines) == 1 else lines,
        }


def json_shape(value: Any) -> Any:
    """The keys of a JSON value, in order, all the way down (values left out): to compare a body with a seed's."""
    if isinstance(value, dict):
        return [(key, json_shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [json_shape(item) for item in value]
    return None


def _part_id(line: dict[str, Any]) -> str:
    part = line["part"]
    return part.get("partId") or f"{part['brandCode']}{part['partCode']}"


def _error(code: str, description: str, value: Any = None) -> dict[str, Any]:
    """Seed 001's error object."""
    title = code.replace("_", " ").capitalize()
    shown = f" (value: {value!r})" if value is not None and not isinstance(value, dict | list) else ""
    return {
        "errorCode": code,
        "errorTitle": title,
        "errorDescription": description + shown,
        "errorUID": str(uuid.uuid4()),
    }


def _envelope(
    status: int, *, errors: list[dict[str, Any]] | None = None, order_uuid: str | None = None
) -> dict[str, Any]:
    """Seed 001's response envelope."""
    return {"errors": errors or [], "warnings": [], "orderUUID": order_uuid, "statusCode": status}


def _keyloop_error(recorded: Recorded, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    """Seed 002's error shape, echoing the request's correlation id."""
    return {
        "correlationId": recorded.header("x-correlation-id") or str(uuid.uuid4()),
        "message": message,
        "details": details,
        "links": [{"method": recorded.method, "rel": "self", "href": recorded.path, "title": message}],
    }
