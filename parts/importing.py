"""The parts catalogue import (``orma_import_parts``, DESIGN §8): a CSV file upserted by partId, all or nothing.

The file is streamed in batches and each batch is written with a few set-based statements, so memory
stays bounded whatever the file's size and the work per row is small. Three passes, all inside one
transaction that is rolled back when any row is bad:

1. rows: each row is checked, and the good ones of a batch are upserted (``INSERT ... ON CONFLICT DO
   UPDATE``) with their stock in ``--store``. Every row this import writes is stamped with the import's
   ``updated_at`` and the upsert leaves a row with that stamp alone, so a partId repeated in a later batch
   shows up as a row the upsert did not answer, without keeping every partId in memory;
2. references: the file is read again for ``supersededBy`` and ``alternatives``, now that every part of
   the file exists, and each batch's references are resolved and written in bulk;
3. cycles: the supersession chains of the imported parts are loaded batch by batch (a recursive query)
   and followed by ``parts.rules.follow_supersession``, the one cycle check; a chain that comes back to
   its start is reported on each of its rows.

On PostgreSQL a file is first tried whole and set-based (:class:`_SetBased`): its records, stripped, are
copied by ``COPY`` into a temporary table, checked there by SQL that accepts only values the row-by-row checks
accept and read alike, then upserted with their stock, linked and cycle-checked in a handful of
statements; nothing kept in memory. A *plain* file (:class:`_PlainScan`: no quotes, no whitespace to
strip, ...; what exports usually are) is parsed by PostgreSQL's own CSV reader, no Python work per row at
all; any other file goes through the csv module. A dealer without parts (a first import) takes plain
INSERTs with the ids drawn during the COPY, so each part is written once, with its successor, and its stock
and alternatives without another lookup. A file it does not vouch for (a row it cannot prove good, a
repeated partId, an unknown reference, stock below what is reserved, a cycle, a NUL byte, a record COPY
refuses) is rolled back to a savepoint and imported by the three passes above, which decide and word
every error: the report is the same whichever path ran. Elsewhere (SQLite) the
passes' rows reach the database as multi-row ``VALUES``, on PostgreSQL by ``COPY`` into a temporary
table. Line numbers are the file's physical lines (the header is line 1).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, reset_queries, transaction
from django.utils import timezone
from tqdm import tqdm

from orma.errors import DomainError, ErrorCode, Problem
from tenancy.models import Dealer, Department

from . import rules, sql
from .choices import UnitOfMeasure
from .models import Part, Stock

COLUMNS = (
    "partId",
    "brandCode",
    "partCode",
    "description",
    "netPrice",
    "currencyCode",
    "taxRate",
    "unitOfSale",
    "weightKg",
    "supersededBy",
    "alternatives",
    "mandatoryVehicleReferences",
    "quantityOnHand",
)
OPTIONAL_COLUMNS = ("discountGroup", "unitOfMeasure")
SEPARATOR = "|"
BATCH_SIZE = 5000
MAX_REPORTED_ERRORS = 10_000
# The columns the import writes, in the order of a row's values (after dealer_id and part_id).
_PART_COLUMNS = (
    "dealer_id",
    "part_id",
    "brand_code",
    "part_code",
    "description",
    "weight_kg",
    "unit_of_measure",
    "unit_of_measure_value",
    "unit_of_sale",
    "list_net_price",
    "tax_rate",
    "currency_code",
    "discount_group",
    "mandatory_vehicle_references",
    "created_at",
    "updated_at",
)
# What a row carries to the database: (name, PostgreSQL type), in the order of _Row's part_id and values.
_ROW_COLUMNS = (
    ("part_id", "text"),
    ("brand_code", "text"),
    ("part_code", "text"),
    ("description", "text"),
    ("weight_kg", "numeric"),
    ("unit_of_measure", "text"),
    ("unit_of_measure_value", "numeric"),
    ("unit_of_sale", "integer"),
    ("list_net_price", "numeric"),
    ("tax_rate", "numeric"),
    ("currency_code", "text"),
    ("discount_group", "text"),
    ("mandatory_vehicle_references", "text"),
)
_ALWAYS_UPDATED = (
    "brand_code",
    "part_code",
    "description",
    "weight_kg",
    "unit_of_sale",
    "list_net_price",
    "tax_rate",
    "currency_code",
    "mandatory_vehicle_references",
    "updated_at",
)
_UPDATED_WHEN_GIVEN = {"discountGroup": "discount_group", "unitOfMeasure": "unit_of_measure"}
_PLAIN_DECIMAL = re.compile(r"\d{1,10}(?:\.\d{1,4})?")
_UNITS = frozenset(UnitOfMeasure.values)
_MAX_PRICE = Decimal(9_999_999_999)
_MAX_WEIGHT = Decimal(9_999_999)
_HUNDRED = Decimal(100)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_REFERENCE_TYPE = re.compile(r"^[A-Z0-9_]{1,30}$")


@dataclass(frozen=True)
class RowError:
    """A bad row: its line in the file and what is wrong with it."""

    line: int
    issue: str


@dataclass
class ImportResult:
    """What an import did (``created``/``updated`` are 0 when anything was bad: nothing is kept)."""

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    unreported: int = 0

    def as_json(self) -> dict[str, Any]:
        errors = [{"line": e.line, "issue": e.issue} for e in sorted(self.errors, key=lambda e: e.line)]
        if self.unreported:
            errors.append({"line": 0, "issue": f"{self.unreported} more bad rows are not listed"})
        return {"created": self.created, "updated": self.updated, "errors": errors}


class ImportFileError(DomainError):
    """The file cannot be imported at all (unreadable, or its header is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__([Problem(ErrorCode.UNPROCESSABLE, message)])


class _Rollback(Exception):
    pass


class _NotClean(Exception):
    """The set-based import met a row it does not vouch for: the row-by-row passes take the file."""


@dataclass
class _Row:
    line: int
    part_id: str
    values: tuple[Any, ...]  # in the order of _ROW_COLUMNS, after part_id
    quantity_on_hand: int | None


def _decimal(text: str, name: str, *, places: int, maximum: Decimal, issues: list[str]) -> Decimal | None:
    if _PLAIN_DECIMAL.fullmatch(text) and len(text) <= 16:  # the common case, checked without Decimal's help
        value = Decimal(text)
        if value <= maximum and (places >= 4 or "." not in text or len(text) - text.index(".") - 1 <= places):
            return value
    try:
        value = Decimal(text)
    except InvalidOperation:
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})*,\d+|\d+,\d+", text):
            point = text.replace(".", "").replace(",", ".")
            issues.append(f"{name} {text!r} has a decimal comma: write the decimal point as '.' ({point})")
        else:
            issues.append(f"{name} {text!r} is not a number")
        return None
    if not value.is_finite() or value < 0 or value > maximum:
        issues.append(f"{name} {text} must be from 0 to {maximum}")
        return None
    if -value.as_tuple().exponent > places:  # type: ignore[operator]
        issues.append(f"{name} {text} has more than {places} decimal places")
        return None
    return value


def _whole(text: str, name: str, *, minimum: int, issues: list[str]) -> int | None:
    if not text.isdigit() or int(text) < minimum or int(text) > 999_999_999:
        issues.append(f"{name} {text!r} must be a whole number of at least {minimum}")
        return None
    return int(text)


def _text(text: str, name: str, *, max_length: int, issues: list[str], required: bool = False) -> str:
    if required and not text:
        issues.append(f"{name} is required")
    elif len(text) > max_length:
        issues.append(f"{name} is longer than {max_length} characters")
    elif "\x00" in text:
        issues.append(f"{name} contains a NUL character")
    return text


def _split(text: str) -> list[str]:
    if not text:
        return []
    return list(dict.fromkeys(item.strip() for item in text.split(SEPARATOR) if item.strip()))


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]


def _bulk(
    statement: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[tuple[Any, ...]],
    *,
    params: tuple[Any, ...] = (),
    returning: bool = False,
) -> list[tuple[Any, ...]]:
    """Run ``statement`` over ``rows`` as the relation ``v(columns)``: ``WITH v(...) AS (<rows>) <statement>``.

    PostgreSQL receives the rows by ``COPY`` into a temporary table (the fastest way in, and no statement
    with thousands of parameters to build and parse); SQLite receives multi-row VALUES, split to stay
    under its cap on parameters per statement. ``columns`` are (name, PostgreSQL type) pairs. Runs inside
    the import's transaction (the temporary tables are dropped at its end).
    """
    if not rows:
        return []
    names = ", ".join(name for name, _ in columns)
    batches: list[tuple[list[Any], str]]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            batches = [([], _staged(cursor, columns, rows))]
    else:
        row_sql = f"({', '.join(['%s'] * len(columns))})"
        per_statement = max((connection.features.max_query_params or 999) - len(params), 1) // len(columns)
        batches = [
            ([value for row in chunk for value in row], f"VALUES {', '.join([row_sql] * len(chunk))}")
            for chunk in _chunks(rows, max(per_statement, 1))
        ]
    answered: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for values, source in batches:
            cursor.execute(f"WITH v({names}) AS ({source}) {statement}", [*values, *params])
            if returning:
                answered.extend(cursor.fetchall())
    return answered


def _staged(cursor: Any, columns: tuple[tuple[str, str], ...], rows: list[tuple[Any, ...]]) -> str:
    """COPY ``rows`` into this column set's temporary table; answers the SELECT that reads them back."""
    names = ", ".join(name for name, _ in columns)
    table = "orma_import_" + hashlib.sha1(repr(columns).encode()).hexdigest()[:12]
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({', '.join(f'{n} {kind}' for n, kind in columns)})"
        " ON COMMIT DROP"
    )
    cursor.execute(f"TRUNCATE {table}")
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return f"SELECT {names} FROM {table}"


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    while batch := list(itertools.islice(items, size)):
        yield batch


def _json(expression: str) -> str:
    return f"CAST({expression} AS jsonb)" if connection.vendor == "postgresql" else expression


class _Reader:
    """The CSV file, opened for one pass, with the header checked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = []
        self.delimiter = ","
        self.plain = False  # see count_lines
        self.data_start = 0

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        columns = None
        for line, record in self.records():
            columns = columns or self.columns
            if len(record) != len(columns):
                yield line, {"": f"has {len(record)} fields, the header has {len(columns)}"}
                continue
            yield line, dict(zip(columns, record, strict=True))

    def records(self) -> Generator[tuple[int, list[str]], None, None]:
        """The file's records as the csv module reads them, with their physical line, blank lines left out."""
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as handle:
                self.delimiter = _delimiter(handle.readline())
                reader = csv.reader(handle, delimiter=self.delimiter)
                handle.seek(0)
                header = next(reader, None)
                self.columns = self.check_header(header)
                for record in reader:
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue  # a blank line
                    yield reader.line_num, record
        except UnicodeDecodeError as error:
            raise ImportFileError(f"the file is not UTF-8 ({error.reason} at byte {error.start})") from None
        except csv.Error as error:
            raise ImportFileError(f"the file is not valid CSV: {error}") from None
        except OSError as error:
            raise ImportFileError(f"cannot read {self.path}: {error.strerror or error}") from None

    @staticmethod
    def check_header(header: list[str] | None) -> list[str]:
        if not header:
            raise ImportFileError("the file is empty: line 1 must be the header")
        columns = [name.strip() for name in header]
        missing = [name for name in COLUMNS if name not in columns]
        unknown = [name for name in columns if name not in COLUMNS + OPTIONAL_COLUMNS]
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if repeated:
            problems.append(f"repeated column(s) {', '.join(repeated)}")
        if problems:
            raise ImportFileError(f"line 1: {'; '.join(problems)}")
        return columns

    def count_lines(self) -> tuple[int, bool]:
        """The file's lines, and whether it holds a NUL byte (PostgreSQL's text cannot: such a file takes
        the row-by-row path, which reports the NUL on its row). Also notes in :attr:`plain` whether
        PostgreSQL's own CSV parser reads the file's records exactly as the csv module and ``parse`` do
        (see :func:`_plain`), and in :attr:`data_start` the byte offset of line 2."""
        lines, nul = 0, False
        scan: _PlainScan | None = None
        try:
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    if scan is None:
                        end = chunk.find(b"\n")
                        if end > 0:
                            header = chunk[:end].decode("utf-8-sig", errors="replace")
                            scan = _PlainScan(_delimiter(header))
                            self.data_start = end + 1
                        else:
                            scan = _PlainScan(",")
                            scan.plain = False
                    lines += chunk.count(b"\n")
                    nul = nul or b"\x00" in chunk
                    scan.feed(chunk)
                self.plain = scan is not None and scan.finish() and not nul
                return lines, nul
        except OSError as error:
            raise ImportFileError(f"cannot read {self.path}: {error.strerror or error}") from None


# Python's str.strip() removes these (str.isspace); PostgreSQL's CSV parser keeps every character.
_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
_OTHER_WHITESPACE = tuple(
    c.encode() for c in _WHITESPACE if c not in " \t\n\r" and not c.encode().startswith(b"\xe2\x80")
)
_E2_80_WHITESPACE = re.compile(  # U+2000-U+200A, U+2028, U+2029, U+202F: not every E2 80 sequence (dashes, quotes)
    b"\xe2\x80[" + re.escape(bytes(c.encode()[2] for c in _WHITESPACE if c.encode().startswith(b"\xe2\x80"))) + b"]"
)


class _PlainScan:
    """Whether a file's bytes are *plain*: read by PostgreSQL's ``COPY ... (FORMAT csv)`` into exactly the
    values the csv module reads, each already stripped. Plain: no quote character (the two parsers differ
    on a quote inside a field), no NUL, no ``\\.`` (PostgreSQL's end-of-data marker), no blank line (the
    csv module skips it, COPY refuses it), every CR part of a CRLF, and no whitespace that ``str.strip``
    would remove: none next to a delimiter or a line end, no other kind of whitespace anywhere. A file
    that is not plain is copied through the csv module instead; a plain file whose records COPY refuses
    (a wrong number of fields, invalid UTF-8) goes to the row-by-row passes, which word the error."""

    def __init__(self, delimiter: str) -> None:
        d = delimiter.encode()
        self.delimiter = d
        self.plain = True
        self.tail = b""
        self.needles = [b'"', b"\x00", b"\\.", b"\n\n", b"\n\r\n", *_OTHER_WHITESPACE]
        for space in (b" ", b"\t"):
            if space != d:
                self.needles += [space + d, d + space]
            self.needles += [space + b"\n", b"\n" + space, space + b"\r"]

    def feed(self, chunk: bytes) -> None:
        if not self.plain:
            return
        data = self.tail + chunk  # the previous chunk's last bytes: a needle may straddle the boundary
        if any(needle in data for needle in self.needles):
            self.plain = False
        elif b"\xe2\x80" in data and _E2_80_WHITESPACE.search(data):
            self.plain = False
        elif data.count(b"\r") != data.count(b"\r\n") + data.endswith(b"\r"):
            self.plain = False
        self.tail = data[-3:]

    def finish(self) -> bool:
        """Whether the whole file was plain (a last line without a line end must not end in whitespace)."""
        if self.tail.endswith((b" ", b"\r")) or (self.tail.endswith(b"\t") and self.delimiter != b"\t"):
            self.plain = False
        return self.plain


def _delimiter(header_line: str) -> str:
    """The file's delimiter, read off its header: ``,`` (the default), ``;`` (what spreadsheets in
    decimal-comma locales write) or a tab, whichever separates the header's columns. ``|`` is never one:
    it separates the values of a multi-valued column."""
    return max((",", ";", "\t"), key=header_line.count)


class _Import:
    """One run of the import; see the module docstring for its three passes."""

    def __init__(self, *, path: Path, dealer: Dealer, store: Department | None, batch_size: int, progress: bool):
        self.reader = _Reader(path)
        self.dealer = dealer
        self.store = store
        self.batch_size = batch_size
        self.progress = progress
        self.stamp = timezone.now()
        self.result = ImportResult()
        self.bad_lines: set[int] = set()

    def error(self, line: int, issue: str) -> None:
        self.bad_lines.add(line)
        if len(self.result.errors) < MAX_REPORTED_ERRORS:
            self.result.errors.append(RowError(line, issue))
        else:
            self.result.unreported += 1

    def bar(self, total: int, description: str) -> tqdm:
        return tqdm(total=total, unit="rows", desc=description, disable=None if self.progress else True, leave=False)

    def run(self) -> ImportResult:
        lines, nul = self.reader.count_lines()
        total = max(lines - 1, 0)
        try:
            with transaction.atomic():
                # One import per dealer at a time: the stamp marks this run's rows.
                Dealer.objects.select_for_update().filter(pk=self.dealer.pk).values_list("pk", flat=True).first()
                if sql.in_use() and not nul:
                    with connection.cursor() as cursor:
                        # The connections run without JIT (orma/settings.py); the set-based checks over a whole
                        # catalogue are the one place it pays (at 1M rows ~5.1 -> 4.2 s of the validation query).
                        cursor.execute("SET LOCAL jit = on")
                    try:
                        with transaction.atomic():
                            with self.bar(total, "parts") as bar:
                                _SetBased(self).run(bar)
                            return self.result
                    # Rolled back to the savepoint: the row-by-row passes report exactly. An IntegrityError is a
                    # repeated partId met by a fresh catalogue's plain INSERT (or a part created meanwhile).
                    except (_NotClean, IntegrityError):
                        self.result, self.bad_lines = ImportResult(), set()
                with self.bar(total, "parts") as bar:
                    self.read_rows(bar)
                with self.bar(total, "references") as bar:
                    self.resolve_references(bar)
                self.find_cycles()
                if self.result.errors or self.result.unreported:
                    raise _Rollback()
        except _Rollback:
            self.result.created = self.result.updated = 0
        return self.result

    # --- pass 1: rows ---

    def parse(self, line: int, raw: dict[str, str]) -> _Row | None:
        if "" in raw:
            self.error(line, f"the row {raw['']}")
            return None
        values = {name: value.strip() for name, value in raw.items()}
        issues: list[str] = []
        part_id = _text(values["partId"], "partId", max_length=50, issues=issues, required=True)
        if SEPARATOR in part_id:
            issues.append(f"partId must not contain {SEPARATOR}")
        brand_code = rules.brand_code(
            _text(values["brandCode"], "brandCode", max_length=20, issues=issues, required=True)
        )
        part_code = _text(values["partCode"], "partCode", max_length=50, issues=issues, required=True)
        description = _text(values["description"], "description", max_length=500, issues=issues)
        net_price = None
        if values["netPrice"]:
            net_price = _decimal(values["netPrice"], "netPrice", places=4, maximum=_MAX_PRICE, issues=issues)
        else:
            issues.append("netPrice is required")
        currency_code = values["currencyCode"].upper()
        if not _CURRENCY.match(currency_code):
            issues.append(f"currencyCode {values['currencyCode']!r} must be three letters (ISO 4217)")
        tax_rate = None
        if values["taxRate"]:
            tax_rate = _decimal(values["taxRate"], "taxRate", places=2, maximum=_HUNDRED, issues=issues)
        else:
            issues.append("taxRate is required")
        unit_of_sale = (
            _whole(values["unitOfSale"], "unitOfSale", minimum=1, issues=issues) if values["unitOfSale"] else 1
        )
        weight = (
            _decimal(values["weightKg"], "weightKg", places=3, maximum=_MAX_WEIGHT, issues=issues)
            if values["weightKg"]
            else None
        )
        superseded_by = values["supersededBy"]
        if superseded_by and superseded_by == part_id:
            issues.append("a part cannot supersede itself")
        alternatives = _split(values["alternatives"])
        if part_id in alternatives:
            issues.append("a part cannot be its own alternative")
        references = [ref.upper() for ref in _split(values["mandatoryVehicleReferences"])]
        bad_references = [ref for ref in references if not _REFERENCE_TYPE.match(ref)]
        if bad_references:
            issues.append(f"mandatoryVehicleReferences {', '.join(bad_references)}: types are A-Z, 0-9 and _")
        quantity = None
        if values["quantityOnHand"]:
            quantity = _whole(values["quantityOnHand"], "quantityOnHand", minimum=0, issues=issues)
            if self.store is None:
                issues.append("quantityOnHand needs --store")
        discount_group = _text(values.get("discountGroup", ""), "discountGroup", max_length=20, issues=issues)
        unit = values.get("unitOfMeasure", "").upper() or UnitOfMeasure.PIECE.value
        if unit not in _UNITS:
            issues.append(f"unitOfMeasure {unit!r} must be one of {', '.join(UnitOfMeasure.values)}")
        if issues or net_price is None or tax_rate is None or unit_of_sale is None:
            self.error(line, "; ".join(issues))
            return None
        written = (
            brand_code,
            part_code,
            description,
            weight,
            unit,
            1,
            unit_of_sale,
            net_price,
            tax_rate,
            currency_code,
            discount_group,
            json.dumps(references) if references else "[]",
        )
        return _Row(line, part_id, written, quantity)

    def read_rows(self, bar: tqdm) -> None:
        batch: list[_Row] = []
        for line, values in self.reader.rows():
            row = self.parse(line, values)
            if row is not None:
                batch.append(row)
            if len(batch) >= self.batch_size:
                self.write_rows(batch)
                bar.update(len(batch))
                batch = []
                reset_queries()  # with DEBUG on, the query log would otherwise keep every batch's SQL
        if batch:
            self.write_rows(batch)
            bar.update(len(batch))

    def write_rows(self, batch: list[_Row]) -> None:
        """Upsert a batch: one statement for the parts, one for their stock (and one clearing alternatives).

        The upsert skips a row this import already wrote (its ``updated_at`` is the import's stamp) and
        answers, for every row it did write, its id and whether it was created; a row missing from the
        answer therefore repeats a partId of an earlier batch. Likewise the stock upsert refuses a quantity
        below what is reserved, and a row missing from its answer is reported.
        """
        first_line: dict[str, int] = {}
        rows: list[_Row] = []
        for row in batch:
            if row.part_id in first_line:
                self.error(row.line, f"partId {row.part_id} repeats line {first_line[row.part_id]}")
            else:
                first_line[row.part_id] = row.line
                rows.append(row)
        stamp = connection.ops.adapt_datetimefield_value(self.stamp)
        updated = [*_ALWAYS_UPDATED, *(n for column, n in _UPDATED_WHEN_GIVEN.items() if column in self.reader.columns)]
        selected = ", ".join(
            "%s" if name in ("dealer_id", "created_at", "updated_at") else
            _json("v.mandatory_vehicle_references") if name == "mandatory_vehicle_references" else
            f"v.{name}"
            for name in _PART_COLUMNS
        )  # fmt: skip
        table = Part._meta.db_table
        written = {
            part_id: (pk, bool(created))
            for part_id, pk, created in _bulk(
                f"INSERT INTO {table} ({', '.join(_PART_COLUMNS)}) SELECT {selected} FROM v WHERE true"
                f" ON CONFLICT (dealer_id, part_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updated)},"
                " superseded_by_id = NULL"  # the references pass sets it again from the file
                f" WHERE {table}.updated_at <> excluded.updated_at"
                " RETURNING part_id, id, created_at = updated_at",
                _ROW_COLUMNS,
                [(row.part_id, *row.values) for row in rows],
                params=(self.dealer.pk, stamp, stamp),
                returning=True,
            )
        }
        for row in rows:
            if row.part_id not in written:
                self.error(row.line, f"partId {row.part_id} appears earlier in the file")
        created = sum(1 for _, is_new in written.values() if is_new)
        self.result.created += created
        self.result.updated += len(written) - created
        _bulk(  # likewise the alternatives: the file is the truth for the parts it lists
            f"DELETE FROM {Part.alternatives.through._meta.db_table} WHERE from_part_id IN (SELECT id FROM v)",
            (("id", "bigint"),),
            [(pk,) for pk, is_new in written.values() if not is_new],
        )
        if self.store is not None:
            self.write_stock(
                [row for row in rows if row.part_id in written and row.quantity_on_hand is not None], written
            )

    def write_stock(self, rows: list[_Row], written: dict[str, tuple[int, bool]]) -> None:
        if self.store is None:
            return
        stocked = {
            pk
            for (pk,) in _bulk(
                f"INSERT INTO {Stock._meta.db_table} (department_id, part_id, on_hand, reserved)"
                " SELECT %s, v.part_id, v.on_hand, 0 FROM v WHERE true"
                " ON CONFLICT (department_id, part_id) DO UPDATE SET on_hand = excluded.on_hand"
                f" WHERE {Stock._meta.db_table}.reserved <= excluded.on_hand"
                " RETURNING part_id",
                (("part_id", "bigint"), ("on_hand", "integer")),
                [(written[row.part_id][0], row.quantity_on_hand) for row in rows],
                params=(self.store.pk,),
                returning=True,
            )
        }
        refused = [row for row in rows if written[row.part_id][0] not in stocked]
        if refused:
            reserved = dict(
                Stock.objects.filter(
                    department=self.store, part_id__in=[written[row.part_id][0] for row in refused]
                ).values_list("part_id", "reserved")
            )
            for row in refused:
                held = reserved.get(written[row.part_id][0], 0)
                self.error(
                    row.line, f"quantityOnHand {row.quantity_on_hand} is below the {held} reserved for parts orders"
                )

    # --- pass 2: supersession and alternatives ---

    def resolve_references(self, bar: tqdm) -> None:
        batch: list[tuple[int, str, str, list[str]]] = []
        for line, values in self.reader.rows():
            if "" in values:
                continue  # a row of the wrong width: nothing in it can be trusted
            successor, alternatives = values["supersededBy"].strip(), values["alternatives"].strip()
            if not (successor or alternatives):
                continue  # pass 1 already cleared the references of a row that names none
            batch.append((line, values["partId"].strip(), successor, _split(alternatives)))
            if len(batch) >= self.batch_size:
                self.write_references(batch)
                bar.update(len(batch))
                batch = []
                reset_queries()
        if batch:
            self.write_references(batch)
            bar.update(len(batch))

    def write_references(self, batch: list[tuple[int, str, str, list[str]]]) -> None:
        names = {part_id for _, part_id, _, _ in batch}
        names.update(successor for _, _, successor, _ in batch if successor)
        names.update(alternative for _, _, _, alternatives in batch for alternative in alternatives)
        ids = dict(Part.objects.filter(dealer=self.dealer, part_id__in=list(names)).values_list("part_id", "id"))
        successors: list[tuple[int, int | None]] = []
        links: list[tuple[int, int]] = []
        for line, part_id, successor, alternatives in batch:
            unknown = [name for name in ([successor] if successor else []) + alternatives if name not in ids]
            if unknown:
                self.error(line, f"{', '.join(unknown)}: not a part of this file or of the dealer's catalogue")
                continue
            if line in self.bad_lines:
                continue  # its references are checked (reported with its row's errors), never written
            successors.append((ids[part_id], ids[successor] if successor else None))
            links.extend((ids[part_id], ids[name]) for name in alternatives)
        _bulk(
            f"UPDATE {Part._meta.db_table} SET superseded_by_id = v.successor FROM v"
            f" WHERE {Part._meta.db_table}.id = v.id",
            (("id", "bigint"), ("successor", "bigint")),
            [(pk, successor) for pk, successor in successors if successor is not None],
        )
        _bulk(
            f"INSERT INTO {Part.alternatives.through._meta.db_table} (from_part_id, to_part_id)"
            " SELECT v.from_id, v.to_id FROM v WHERE true",
            (("from_id", "bigint"), ("to_id", "bigint")),
            links,
        )

    # --- pass 3: cycles ---

    def find_cycles(self) -> None:
        """Follow the chain of every imported part that names a successor, a batch at a time (bounded memory)."""
        if self.bad_lines:
            return  # references of bad rows were never written; their errors are what matters
        imported = Part.objects.filter(dealer=self.dealer, updated_at=self.stamp, superseded_by__isnull=False)
        starts = imported.order_by("id").values_list("id", flat=True).iterator(chunk_size=self.batch_size)
        described: dict[str, str] = {}
        for batch in _batches(starts, self.batch_size):
            chains = imported.filter(id__gte=batch[0], id__lte=batch[-1]).with_successors()
            links = {
                pk: (part_id, successor)
                for pk, part_id, successor in chains.values_list("id", "part_id", "superseded_by_id")
            }
            successor_of = {pk: successor for pk, (_, successor) in links.items()}
            ending: set[int] = set()  # parts on a chain that ends: none of them is on a cycle
            for start in batch:
                if start in ending:
                    continue
                supersession = rules.follow_supersession(start, successor_of)
                if not supersession.cycle:
                    ending.update(supersession.chain)
                elif supersession.returns_to_start:  # a part that only leads into a cycle is not reported
                    described[links[start][0]] = " → ".join(links[pk][0] for pk in supersession.chain)
            reset_queries()
        if not described:
            return
        for line, values in self.reader.rows():
            part_id = values.get("partId", "").strip()
            if part_id in described:
                self.error(line, f"supersession cycle: {described[part_id]}")


# --- PostgreSQL: the whole file at once -----------------------------------------------------------

# The rows the set-based path vouches for, column by column: each test accepts only values the row-by-row
# ``_Import.parse`` accepts and reads alike (ASCII digits, plain decimals, codes of ASCII letters), so
# the values converted in SQL are the values ``parse`` would write. A value it does not vouch for is not
# necessarily bad: it sends the file to the row-by-row passes, which decide and word every error.
_PLAIN_NUMBER = "^[0-9]{{1,10}}(\\.[0-9]{{1,{places}}})?$"
_LIST = "^[!-{{}}~]+(\\|[!-{{}}~]+)*$"  # printable ASCII items without spaces or empty items, '|' between


def _number(places: int, maximum: Decimal, *, optional: bool = False) -> str:
    # CASE, not AND: SQL does not promise to test the pattern before it casts, CASE does.
    pattern = _PLAIN_NUMBER.format(places=places).replace("{", "{{").replace("}", "}}")
    test = f"CASE WHEN r.{{c}} ~ '{pattern}' THEN r.{{c}}::numeric <= {maximum} ELSE false END"
    return f"(r.{{c}} = '' OR {test})" if optional else test


_CLEAN = (
    ("partId", "r.{c} <> '' AND char_length(r.{c}) <= 50 AND strpos(r.{c}, '|') = 0"),
    ("brandCode", "r.{c} ~ '^[A-Za-z0-9]{{1,20}}$'"),
    ("partCode", "r.{c} <> '' AND char_length(r.{c}) <= 50"),
    ("description", "char_length(r.{c}) <= 500"),
    ("netPrice", _number(4, _MAX_PRICE)),
    ("currencyCode", "r.{c} ~ '^[A-Za-z]{{3}}$'"),
    ("taxRate", _number(2, _HUNDRED)),
    ("unitOfSale", "(r.{c} = '' OR CASE WHEN r.{c} ~ '^[0-9]{{1,9}}$' THEN r.{c}::integer >= 1 ELSE false END)"),
    ("weightKg", _number(3, _MAX_WEIGHT, optional=True)),
    ("supersededBy", "(r.{c} = '' OR (r.{c} ~ '^[!-{{}}~]+$' AND r.{c} <> r.\"partId\"))"),
    # the csv module refuses a field longer than its limit (the file "is not valid CSV"); COPY would take it
    ("alternatives", f"(r.{{c}} = '' OR (char_length(r.{{c}}) <= {csv.field_size_limit()} AND r.{{c}} ~ '{_LIST}'"
                     " AND NOT r.\"partId\" = ANY(string_to_array(r.{c}, '|'))))"),
    ("mandatoryVehicleReferences", "r.{c} = ''"),
    ("discountGroup", "char_length(r.{c}) <= 20"),
    ("unitOfMeasure", f"(r.{{c}} = '' OR (r.{{c}} ~ '^[A-Za-z_]+$'"
                      f" AND upper(r.{{c}}) IN ({', '.join(repr(unit) for unit in sorted(_UNITS))})))"),
)  # fmt: skip


def _sql_brand_code(expression: str) -> str:
    """``rules.brand_code`` in SQL, for the ASCII codes the set-based path vouches for."""
    whens = " ".join(f"WHEN '{long}' THEN '{short}'" for long, short in rules.SHORT_BRAND_CODES.items())
    return f"CASE upper({expression}) {whens} ELSE upper({expression}) END"


class _SetBased:
    """The import as a few statements over the whole file (PostgreSQL): the records are copied, trimmed,
    into a temporary table by ``COPY`` (memory stays bounded: nothing is kept in Python), checked there,
    and upserted, stocked and linked by set-based statements. Any row it does not vouch for, any repeated
    partId, unknown reference, refused stock or cycle raises :class:`_NotClean`: the caller rolls back and
    the row-by-row passes import the file and word every error, as they always did."""

    TABLE = "orma_import_raw"

    def __init__(self, run: _Import) -> None:
        self.run_ = run
        self.dealer_id = run.dealer.pk
        self.store_id = run.store.pk if run.store is not None else None

    def column(self, name: str) -> str:
        """The temporary table's column of a CSV column (quoted, as CSV names are mixed case), or ''."""
        return f'r."{name}"' if name in self.run_.reader.columns else "''"

    def run(self, bar: tqdm) -> None:
        run, reader = self.run_, self.run_.reader
        with connection.cursor() as cursor:
            part = Part._meta.db_table
            cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {part} WHERE dealer_id = %s)", [self.dealer_id])
            self.fresh = bool(cursor.fetchone()[0])
            self.copy(cursor, bar)
            columns = reader.columns
            clean = " AND ".join(test.format(c=f'"{name}"') for name, test in _CLEAN if name in columns)
            if self.store_id is None:
                clean += " AND r.\"quantityOnHand\" = ''"
            else:
                clean += " AND (r.\"quantityOnHand\" = '' OR r.\"quantityOnHand\" ~ '^[0-9]{1,9}$')"
            part = Part._meta.db_table
            stock = Stock._meta.db_table
            refs = (
                f'SELECT r."supersededBy" AS name FROM {self.TABLE} r WHERE r."supersededBy" <> \'\''
                f" UNION SELECT unnest(string_to_array(r.alternatives, '|')) FROM {self.TABLE} r"
                " WHERE r.alternatives <> ''"
            )
            # Counts, not LIMIT 1: a LIMIT makes the planner pick a nested loop over the unindexed temporary
            # table (quadratic on a large file); a count is planned as the hash joins the whole file needs.
            checks: list[tuple[str, list[Any]]] = [
                (f"SELECT count(*) FROM {self.TABLE} r WHERE NOT ({clean})", []),
                (
                    f"SELECT count(*) FROM ({refs}) x"
                    f' WHERE NOT EXISTS (SELECT 1 FROM {self.TABLE} r WHERE r."partId" = x.name)'
                    f" AND NOT EXISTS (SELECT 1 FROM {part} p WHERE p.dealer_id = %s AND p.part_id = x.name)",
                    [self.dealer_id],
                ),
            ]
            if not self.fresh:  # a fresh catalogue's INSERT meets a repeated partId as a unique violation
                checks.insert(
                    1,
                    (
                        f'SELECT count(*) FROM (SELECT 1 FROM {self.TABLE} r GROUP BY r."partId"'
                        " HAVING count(*) > 1) d",
                        [],
                    ),
                )
            if self.store_id is not None and not self.fresh:
                checks.append(
                    (
                        f"SELECT count(*) FROM {self.TABLE} r"
                        f' JOIN {part} p ON p.dealer_id = %s AND p.part_id = r."partId"'
                        f" JOIN {stock} s ON s.department_id = %s AND s.part_id = p.id"
                        " WHERE s.reserved > NULLIF(r.\"quantityOnHand\", '')::integer",
                        [self.dealer_id, self.store_id],
                    )
                )
            for statement, params in checks:
                cursor.execute(statement, params)
                if cursor.fetchone()[0]:
                    raise _NotClean()
            if self.fresh:
                self.insert_fresh(cursor)
            else:
                self.upsert(cursor)
                self.link(cursor)
        run.find_cycles()
        if run.result.errors or run.result.unreported:
            raise _NotClean()

    def link(self, cursor: Any) -> None:
        """Supersession and alternatives of an upserted file, looked up by partId."""
        part, through = Part._meta.db_table, Part.alternatives.through._meta.db_table
        cursor.execute(
            f"UPDATE {part} p SET superseded_by_id = s.id FROM {self.TABLE} r"
            f' JOIN {part} s ON s.dealer_id = %s AND s.part_id = r."supersededBy"'
            ' WHERE p.dealer_id = %s AND p.part_id = r."partId" AND r."supersededBy" <> \'\'',
            [self.dealer_id, self.dealer_id],
        )
        cursor.execute(
            f"INSERT INTO {through} (from_part_id, to_part_id) SELECT DISTINCT p.id, a.id FROM {self.TABLE} r"
            " CROSS JOIN LATERAL unnest(string_to_array(r.alternatives, '|')) AS x(name)"
            f' JOIN {part} p ON p.dealer_id = %s AND p.part_id = r."partId"'
            f" JOIN {part} a ON a.dealer_id = %s AND a.part_id = x.name WHERE r.alternatives <> ''",
            [self.dealer_id, self.dealer_id],
        )

    def copy(self, cursor: Any, bar: tqdm) -> None:
        """COPY the file's records into the temporary table, each value stripped as ``parse`` strips it.

        A plain file (:class:`_PlainScan`) is handed to PostgreSQL as it is, parsed by ``COPY ... (FORMAT
        csv)``: no Python work per row. Any other file is read by the csv module, its values stripped in
        Python. For a fresh catalogue each record draws its part's id from the parts' sequence as it is
        copied, so the INSERTs that follow can link parts without looking them up again.
        """
        reader = self.run_.reader
        records = reader.records()
        first = next(records, None)  # reads the header: the columns are known from here
        columns = reader.columns
        names = ", ".join(f'"{name}"' for name in columns)
        # Dropped at commit; an import inside a caller's transaction may find the previous one's table.
        cursor.execute(f"DROP TABLE IF EXISTS {self.TABLE}")
        ident = ""
        if self.fresh:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Part._meta.db_table])
            ident = f"id bigint DEFAULT nextval('{cursor.fetchone()[0]}'), "
        cursor.execute(
            f"CREATE TEMPORARY TABLE {self.TABLE} ({ident}{', '.join(f'{n} text' for n in names.split(', '))})"
            " ON COMMIT DROP"
        )
        if reader.plain and first is not None:
            records.close()
            self.copy_parsed_by_postgresql(cursor, names, bar)
        else:
            self.copy_parsed_by_python(cursor, names, itertools.chain([first] if first else [], records), bar)
        cursor.execute(f"ANALYZE {self.TABLE}")

    def copy_parsed_by_postgresql(self, cursor: Any, names: str, bar: tqdm) -> None:
        from psycopg import Error as PsycopgError

        reader = self.run_.reader
        delimiter = reader.delimiter
        literal = "E'\\t'" if delimiter == "\t" else f"'{delimiter}'"
        statement = (
            f"COPY {self.TABLE} ({names}) FROM STDIN (FORMAT csv, DELIMITER {literal}, FORCE_NOT_NULL ({names}))"
        )
        try:
            with cursor.cursor.copy(statement) as copy, reader.path.open("rb") as handle:
                handle.seek(reader.data_start)
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    copy.write(chunk)
                    bar.update(chunk.count(b"\n"))
        except PsycopgError as error:  # a record COPY refuses (its width, invalid UTF-8): the passes word it
            raise _NotClean() from error

    def copy_parsed_by_python(
        self, cursor: Any, names: str, records: Iterator[tuple[int, list[str]]], bar: tqdm
    ) -> None:
        width = len(self.run_.reader.columns)
        with cursor.cursor.copy(f"COPY {self.TABLE} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for count, (_, record) in enumerate(records, 1):
                if len(record) != width:
                    raise _NotClean()
                write([value.strip() for value in record])
                if count % 10_000 == 0:
                    bar.update(10_000)

    def insert_fresh(self, cursor: Any) -> None:
        """A dealer without parts: every row is new, with the id COPY drew for it. Plain INSERTs (no ON CONFLICT
        to probe for, a repeated partId is a unique violation), each part written with its successor joined
        in the same statement (no second pass updating a tenth of the rows), stock and alternatives by those
        ids without looking parts up again."""
        run, table = self.run_, Part._meta.db_table
        selected = {**self.selected(), "id": "r.id", "superseded_by_id": "x.successor"}
        columns = ["id", *_PART_COLUMNS, "superseded_by_id"]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)})"
            f" SELECT {', '.join(selected[name] for name in columns)} FROM {self.TABLE} r"
            f" LEFT JOIN (SELECT b.id, s.id AS successor FROM {self.TABLE} b JOIN {self.TABLE} s"
            ' ON s."partId" = b."supersededBy" WHERE b."supersededBy" <> \'\') x ON x.id = r.id',
            [self.dealer_id, run.stamp, run.stamp],
        )
        run.result.created = cursor.rowcount
        if self.store_id is not None:
            cursor.execute(
                f"INSERT INTO {Stock._meta.db_table} (department_id, part_id, on_hand, reserved)"
                f' SELECT %s, r.id, r."quantityOnHand"::integer, 0 FROM {self.TABLE} r'
                " WHERE r.\"quantityOnHand\" <> ''",
                [self.store_id],
            )
        cursor.execute(
            f"INSERT INTO {Part.alternatives.through._meta.db_table} (from_part_id, to_part_id)"
            f" SELECT DISTINCT r.id, a.id FROM {self.TABLE} r"
            " CROSS JOIN LATERAL unnest(string_to_array(r.alternatives, '|')) AS x(name)"
            f" JOIN {self.TABLE} a ON a.\"partId\" = x.name WHERE r.alternatives <> ''"
        )

    def selected(self) -> dict[str, str]:
        """The SQL of each written column, from the temporary table's row ``r`` (values it has vouched for)."""
        references = self.column("mandatoryVehicleReferences")
        return {
            "dealer_id": "%s",
            "part_id": self.column("partId"),
            "brand_code": _sql_brand_code(self.column("brandCode")),
            "part_code": self.column("partCode"),
            "description": self.column("description"),
            "weight_kg": f"NULLIF({self.column('weightKg')}, '')::numeric",
            "unit_of_measure": (
                f"COALESCE(NULLIF(upper({self.column('unitOfMeasure')}), ''), '{UnitOfMeasure.PIECE.value}')"
            ),
            "unit_of_measure_value": "1",
            "unit_of_sale": f"COALESCE(NULLIF({self.column('unitOfSale')}, '')::integer, 1)",
            "list_net_price": f"{self.column('netPrice')}::numeric",
            "tax_rate": f"{self.column('taxRate')}::numeric",
            "currency_code": f"upper({self.column('currencyCode')})",
            "discount_group": self.column("discountGroup"),
            "mandatory_vehicle_references": f"CASE WHEN {references} = '' THEN '[]'::jsonb END",
            "created_at": "%s",
            "updated_at": "%s",
        }

    def upsert(self, cursor: Any) -> None:
        """The parts in one statement (``INSERT ... ON CONFLICT DO UPDATE``), counting created and updated."""
        run, table = self.run_, Part._meta.db_table
        through = Part.alternatives.through._meta.db_table
        # The file is the truth for the alternatives of the parts it lists (as the row-by-row pass does).
        cursor.execute(
            f"DELETE FROM {through} WHERE from_part_id IN (SELECT p.id FROM {table} p JOIN {self.TABLE} r"
            ' ON p.dealer_id = %s AND p.part_id = r."partId")',
            [self.dealer_id],
        )
        stamp = run.stamp
        selected = self.selected()
        updated = [*_ALWAYS_UPDATED, *(n for column, n in _UPDATED_WHEN_GIVEN.items() if column in run.reader.columns)]
        cursor.execute(
            f"WITH written AS (INSERT INTO {table} ({', '.join(_PART_COLUMNS)})"
            f" SELECT {', '.join(selected[name] for name in _PART_COLUMNS)} FROM {self.TABLE} r"
            f" ON CONFLICT (dealer_id, part_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updated)},"
            " superseded_by_id = NULL"  # set again from the file below
            f" RETURNING id, part_id, created_at = updated_at AS created)"
            + (  # the store's stock of the rows just written, joined by hash rather than looked up part by part
                f", stocked AS (INSERT INTO {Stock._meta.db_table} (department_id, part_id, on_hand, reserved)"
                f' SELECT %s, w.id, r."quantityOnHand"::integer, 0 FROM written w JOIN {self.TABLE} r'
                ' ON r."partId" = w.part_id WHERE r."quantityOnHand" <> \'\''
                " ON CONFLICT (department_id, part_id) DO UPDATE SET on_hand = excluded.on_hand)"
                if self.store_id is not None
                else ""
            )
            + " SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM written",
            [self.dealer_id, stamp, stamp, *([self.store_id] if self.store_id is not None else [])],
        )
        run.result.created, run.result.updated = cursor.fetchone()


def parts_import(
    *,
    path: str | Path,
    dealer: Dealer,
    store: Department | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> ImportResult:
    """Import a parts CSV into the dealer's catalogue (upsert by partId) and stock, all or nothing.

    Raises :class:`ImportFileError` when the file cannot be read or its header is wrong; bad rows are
    reported in the result, each by line number, and then nothing is imported.
    """
    if store is not None and store.dealer_id != dealer.pk:
        raise ImportFileError("the store is not a department of this dealer")
    return _Import(path=Path(path), dealer=dealer, store=store, batch_size=batch_size, progress=progress).run()
