"""``orma_import_parts``: upsert by partId, all or nothing, every bad row by line number, references resolved."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orma.errors import DomainError, ErrorCode
from parts import importing
from parts.importing import COLUMNS, ImportFileError, parts_import
from parts.models import Part, Stock
from tenancy.tests.factories import DealerFactory, DepartmentFactory

from .factories import PartFactory, StockFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)
GOOD_ROWS = [
    "VW1K0615301AA,VW,1K0615301AA,Brake disc (old),89.90,EUR,19,1,7.2,VW1K0615301AB,,,0",
    "VW1K0615301AB,VW,1K0615301AB,Brake disc,92.50,EUR,19,1,7.2,,VW1K0698151,,12",
    'VW1K0698151,VW,1K0698151,"Brake pads, front",64.35,EUR,19,2,1.9,,,KEYNUMBER|vin,',
]


@pytest.fixture
def store():
    return DepartmentFactory()


@pytest.fixture
def dealer(store):
    return store.dealer


def write(tmp_path, rows, header=HEADER, name="parts.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def run_import(path, dealer, store=None, expect_failure=False):
    out = StringIO()
    args = [str(path), "--dealer", str(dealer.uuid), "--json", "--no-progress"]
    if store is not None:
        args += ["--store", str(store.uuid)]
    if expect_failure:
        with pytest.raises(CommandError) as raised:
            call_command("orma_import_parts", *args, stdout=out)
        return json.loads(out.getvalue()), str(raised.value)
    call_command("orma_import_parts", *args, stdout=out)
    return json.loads(out.getvalue())


class TestGoodFile:
    def test_it_imports_parts_stock_supersession_and_alternatives(self, tmp_path, dealer, store):
        result = run_import(write(tmp_path, GOOD_ROWS), dealer, store)

        assert result == {"created": 3, "updated": 0, "errors": []}
        parts = {part.part_id: part for part in Part.objects.filter(dealer=dealer)}
        old, disc, pads = parts["VW1K0615301AA"], parts["VW1K0615301AB"], parts["VW1K0698151"]
        assert old.superseded_by == disc and disc.superseded_by is None
        assert [p.part_id for p in disc.alternatives.all()] == ["VW1K0698151"]
        assert pads.description == "Brake pads, front"
        assert (pads.list_net_price, pads.tax_rate, pads.unit_of_sale) == (Decimal("64.35"), Decimal("19"), 2)
        assert pads.weight_kg == Decimal("1.9")
        assert pads.mandatory_vehicle_references == ["KEYNUMBER", "VIN"]
        stock = dict(Stock.objects.filter(department=store).values_list("part__part_id", "on_hand"))
        assert stock == {"VW1K0615301AA": 0, "VW1K0615301AB": 12}  # a blank quantity leaves stock alone

    def test_a_reimport_updates_in_place(self, tmp_path, dealer, store):
        run_import(write(tmp_path, GOOD_ROWS), dealer, store)
        ids = dict(Part.objects.values_list("part_id", "id"))
        changed = [
            "VW1K0615301AA,VW,1K0615301AA,Brake disc (old),89.90,EUR,19,1,7.2,,,,3",  # no longer superseded
            "VW1K0615301AB,VW,1K0615301AB,Brake disc,99.00,EUR,19,1,7.2,,,,5",  # new price, no alternatives
        ]

        result = run_import(write(tmp_path, changed, name="again.csv"), dealer, store)

        assert result == {"created": 0, "updated": 2, "errors": []}
        assert dict(Part.objects.values_list("part_id", "id")) == ids
        disc = Part.objects.get(part_id="VW1K0615301AB")
        assert disc.list_net_price == Decimal("99.00")
        assert list(disc.alternatives.all()) == []
        assert Part.objects.get(part_id="VW1K0615301AA").superseded_by is None
        assert Stock.objects.get(part=disc, department=store).on_hand == 5
        assert Part.objects.get(part_id="VW1K0698151").unit_of_sale == 2  # not in the file: untouched

    def test_references_may_name_parts_already_in_the_catalogue(self, tmp_path, dealer):
        existing = PartFactory(dealer=dealer, part_id="VW9")
        rows = ["VW1,VW,1,New,1.00,EUR,19,1,,VW9,VW9,,"]

        assert run_import(write(tmp_path, rows), dealer)["created"] == 1
        assert Part.objects.get(part_id="VW1").superseded_by == existing

    def test_the_same_part_id_of_another_dealer_is_another_part(self, tmp_path, dealer):
        PartFactory(part_id="VW1K0615301AA")

        rows = ["VW1K0615301AA,VW,1K0615301AA,Brake disc,89.90,EUR,19,1,,,,,"]

        assert run_import(write(tmp_path, rows), dealer)["created"] == 1
        assert Part.objects.filter(part_id="VW1K0615301AA").count() == 2

    def test_it_prints_a_summary_without_json(self, tmp_path, dealer, store):
        out = StringIO()

        call_command("orma_import_parts", str(write(tmp_path, GOOD_ROWS)), "--dealer", str(dealer.uuid), "--store",
                     str(store.uuid), "--no-progress", stdout=out)  # fmt: skip

        assert out.getvalue().strip() == "Imported 3 new and 0 updated parts."


class TestBadFile:
    def test_one_bad_row_imports_nothing_and_names_its_line(self, tmp_path, dealer, store):
        rows = [*GOOD_ROWS[:1], "VW2,VW,2,Bad price,12.3.4,EUR,19,1,,,,,", *GOOD_ROWS[1:]]

        result, message = run_import(write(tmp_path, rows), dealer, store, expect_failure=True)

        assert result == {
            "created": 0,
            "updated": 0,
            "errors": [{"line": 3, "issue": "netPrice '12.3.4' is not a number"}],
        }
        assert "nothing was imported" in message
        assert Part.objects.count() == 0
        assert Stock.objects.count() == 0

    def test_every_bad_row_is_reported(self, tmp_path, dealer, store):
        rows = [
            ",VW,1,No id,1.00,EUR,19,1,,,,,",  # line 2
            "VW2,VW,2,Fine,1.00,EUR,19,1,,,,,",
            "VW3,VW,3,Tax,1.00,EURO,119,0,,,,,",  # line 4: currency, tax and unit of sale
            "VW4,VW,4,Ghost successor,1.00,EUR,19,1,,VW404,,,",  # line 5
            "VW2,VW,2,Repeated,1.00,EUR,19,1,,,,,",  # line 6
            "VW5,VW,5,Short row",  # line 7
            "VW6,VW,6,Negative stock,1.00,EUR,19,1,,,,,-1",  # line 8
        ]

        result, _ = run_import(write(tmp_path, rows), dealer, store, expect_failure=True)

        assert [error["line"] for error in result["errors"]] == [2, 4, 5, 6, 7, 8]
        issues = {error["line"]: error["issue"] for error in result["errors"]}
        assert issues[2] == "partId is required"
        assert "currencyCode 'EURO'" in issues[4] and "taxRate 119" in issues[4] and "unitOfSale '0'" in issues[4]
        assert issues[5] == "VW404: not a part of this file or of the dealer's catalogue"
        assert issues[6] == "partId VW2 repeats line 3"
        assert issues[7] == "the row has 4 fields, the header has 13"
        assert "quantityOnHand '-1'" in issues[8]
        assert Part.objects.count() == 0

    def test_a_supersession_cycle_is_reported_on_its_rows(self, tmp_path, dealer):
        rows = [
            "VW1,VW,1,One,1.00,EUR,19,1,,VW2,,,",
            "VW2,VW,2,Two,1.00,EUR,19,1,,VW3,,,",
            "VW3,VW,3,Three,1.00,EUR,19,1,,VW1,,,",
            "VW4,VW,4,Leads into it,1.00,EUR,19,1,,VW1,,,",
        ]

        result, _ = run_import(write(tmp_path, rows), dealer, expect_failure=True)

        assert result["errors"] == [
            {"line": 2, "issue": "supersession cycle: VW1 → VW2 → VW3 → VW1"},
            {"line": 3, "issue": "supersession cycle: VW2 → VW3 → VW1 → VW2"},
            {"line": 4, "issue": "supersession cycle: VW3 → VW1 → VW2 → VW3"},
        ]
        assert Part.objects.count() == 0

    def test_a_cycle_closed_through_the_existing_catalogue_is_found(self, tmp_path, dealer):
        older = PartFactory(dealer=dealer, part_id="VW1")
        PartFactory(dealer=dealer, part_id="VW2", superseded_by=older)

        result, _ = run_import(write(tmp_path, ["VW1,VW,1,One,1.00,EUR,19,1,,VW2,,,"]), dealer, expect_failure=True)

        assert result["errors"] == [{"line": 2, "issue": "supersession cycle: VW1 → VW2 → VW1"}]
        assert Part.objects.get(part_id="VW1").superseded_by is None

    def test_a_cycle_across_batches_is_found_and_a_chain_across_them_is_not_one(self, tmp_path, dealer):
        rows = [
            "VW1,VW,1,One,1.00,EUR,19,1,,VW2,,,",
            "VW2,VW,2,Two,1.00,EUR,19,1,,VW3,,,",
            "VW3,VW,3,Three,1.00,EUR,19,1,,,,,",  # VW1 → VW2 → VW3 ends: not a cycle
            "VW4,VW,4,Four,1.00,EUR,19,1,,VW5,,,",
            "VW5,VW,5,Five,1.00,EUR,19,1,,VW4,,,",
        ]

        result = parts_import(path=write(tmp_path, rows), dealer=dealer, batch_size=1, progress=False)

        assert result.as_json()["errors"] == [
            {"line": 5, "issue": "supersession cycle: VW4 → VW5 → VW4"},
            {"line": 6, "issue": "supersession cycle: VW5 → VW4 → VW5"},
        ]
        assert Part.objects.count() == 0

    def test_a_chain_is_imported_whatever_the_batch_size(self, tmp_path, dealer):
        rows = [f"VW{n},VW,{n},Part,1.00,EUR,19,1,,{f'VW{n + 1}' if n < 5 else ''},,," for n in range(1, 6)]

        result = parts_import(path=write(tmp_path, rows), dealer=dealer, batch_size=2, progress=False)

        assert result.as_json() == {"created": 5, "updated": 0, "errors": []}
        assert Part.objects.get(part_id="VW1").superseded_by.part_id == "VW2"

    def test_a_part_id_repeated_in_a_later_batch_is_found(self, tmp_path, dealer):
        rows = [f"VW{n},VW,{n},Part,1.00,EUR,19,1,,,,," for n in (1, 2, 3, 4)] + ["VW1,VW,1,Again,1.00,EUR,19,1,,,,,"]

        result = parts_import(path=write(tmp_path, rows), dealer=dealer, batch_size=2, progress=False)

        assert result.as_json()["errors"] == [{"line": 6, "issue": "partId VW1 appears earlier in the file"}]
        assert Part.objects.count() == 0

    def test_stock_below_what_is_reserved_is_refused(self, tmp_path, dealer, store):
        part = PartFactory(dealer=dealer, part_id="VW1")
        StockFactory(department=store, part=part, on_hand=10, reserved=6)

        result, _ = run_import(
            write(tmp_path, ["VW1,VW,1,One,1.00,EUR,19,1,,,,,5"]), dealer, store, expect_failure=True
        )

        assert result["errors"] == [{"line": 2, "issue": "quantityOnHand 5 is below the 6 reserved for parts orders"}]
        assert Stock.objects.get(part=part).on_hand == 10

    def test_quantity_without_a_store_is_refused(self, tmp_path, dealer):
        result, _ = run_import(write(tmp_path, ["VW1,VW,1,One,1.00,EUR,19,1,,,,,5"]), dealer, expect_failure=True)

        assert result["errors"] == [{"line": 2, "issue": "quantityOnHand needs --store"}]

    @pytest.mark.parametrize(
        "header, message",
        [
            ("partId,brandCode", "missing column(s) partCode"),
            (HEADER + ",colour", "unknown column(s) colour"),
            ("", "line 1"),
        ],
    )
    def test_a_bad_header_imports_nothing(self, tmp_path, dealer, header, message):
        path = tmp_path / "bad.csv"
        path.write_text(header + "\n" + GOOD_ROWS[0] + "\n")

        with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call_command("orma_import_parts", str(path), "--dealer", str(dealer.uuid), "--no-progress")

        assert Part.objects.count() == 0

    def test_a_file_that_cannot_be_imported_is_a_domain_error(self, tmp_path, dealer):
        path = tmp_path / "empty.csv"
        path.write_text("")

        with pytest.raises(ImportFileError) as refused:
            parts_import(path=path, dealer=dealer, progress=False)

        assert isinstance(refused.value, DomainError)
        assert refused.value.code == ErrorCode.UNPROCESSABLE
        assert str(refused.value) == "the file is empty: line 1 must be the header"

    def test_a_file_that_is_not_utf8_is_refused(self, tmp_path, dealer):
        path = tmp_path / "latin1.csv"
        path.write_bytes((HEADER + "\nVW1,VW,1,Bremsscheibe f\xfcr vorn,1.00,EUR,19,1,,,,,\n").encode("latin-1"))

        with pytest.raises(CommandError, match="not UTF-8"):
            call_command("orma_import_parts", str(path), "--dealer", str(dealer.uuid), "--no-progress")

        assert Part.objects.count() == 0

    def test_an_unknown_dealer_or_a_store_of_another_dealer_is_refused(self, tmp_path, dealer):
        path = write(tmp_path, GOOD_ROWS)

        with pytest.raises(CommandError, match="unknown dealer"):
            call_command("orma_import_parts", str(path), "--dealer", "not-a-uuid")
        with pytest.raises(CommandError, match="not a department of this dealer"):
            call_command(
                "orma_import_parts", str(path), "--dealer", str(dealer.uuid), "--store", str(DepartmentFactory().uuid)
            )

        assert Part.objects.count() == 0


def test_a_larger_file_imports_in_batches(tmp_path):
    dealer = DealerFactory()
    successor = {n: f"P{n + 1:05d}" if n % 10 else "" for n in range(1, 2501)}
    rows = [f"P{n:05d},VW,{n:05d},Part {n},{n}.25,EUR,19,1,0.5,{successor[n]},,,{n % 7}" for n in range(1, 2501)]
    store = DepartmentFactory(dealer=dealer)

    result = parts_import(path=write(tmp_path, rows), dealer=dealer, store=store, batch_size=500, progress=False)

    assert result.as_json() == {"created": 2500, "updated": 0, "errors": []}
    assert Part.objects.filter(dealer=dealer, superseded_by__isnull=False).count() == 2250
    assert Stock.objects.filter(department=store).count() == 2500


class TestWhatSpreadsheetsWrite:
    """A `;`-separated file with decimal commas, as spreadsheets in German locales save CSV."""

    def test_a_semicolon_separated_file_is_read(self, tmp_path, dealer, store):
        rows = [row.replace('"Brake pads, front"', "Brake pads front").replace(",", ";") for row in GOOD_ROWS]
        path = write(tmp_path, rows, header=HEADER.replace(",", ";"))

        result = run_import(path, dealer, store)

        assert (result["created"], result["errors"]) == (3, [])
        assert Part.objects.get(part_id="VW1K0615301AB").brand_code == "V"  # VW: seed 002's short code

    def test_decimal_commas_get_a_hint_not_a_missing_column(self, tmp_path, dealer, store):
        row = "VW1;VW;1;Disc;89,90;EUR;19;1;7,2;;;;0"
        path = write(tmp_path, [row], header=HEADER.replace(",", ";"))

        result, _ = run_import(path, dealer, store, expect_failure=True)

        (error,) = result["errors"]
        assert error["line"] == 2
        assert "netPrice '89,90' has a decimal comma: write the decimal point as '.' (89.90)" in error["issue"]
        assert "weightKg '7,2' has a decimal comma" in error["issue"]

    def test_row_errors_and_reference_errors_are_reported_together(self, tmp_path, dealer, store):
        rows = [
            "VW1,VW,1,Disc,not-a-price,EUR,19,1,,GHOST,,,",  # a bad row that also names an unknown successor
            "VW2,VW,2,Disc,10.00,EUR,19,1,,NOWHERE,,,",  # a good row naming an unknown successor
        ]

        result, _ = run_import(write(tmp_path, rows), dealer, store, expect_failure=True)

        issues = {(error["line"], error["issue"]) for error in result["errors"]}
        assert (2, "netPrice 'not-a-price' is not a number") in issues
        assert (2, "GHOST: not a part of this file or of the dealer's catalogue") in issues
        assert (3, "NOWHERE: not a part of this file or of the dealer's catalogue") in issues
        assert Part.objects.count() == 0


def _plain(data: bytes, delimiter: str = ",", chunk: int = 0) -> bool:
    """Whether ``_PlainScan`` calls ``data`` plain, fed whole or in chunks of ``chunk`` bytes."""
    scan = importing._PlainScan(delimiter)
    for start in range(0, len(data), chunk or max(len(data), 1)):
        scan.feed(data[start : start + (chunk or len(data))])
    return scan.finish()


class TestPlainFiles:
    """PostgreSQL reads a plain file (``_PlainScan``) as the csv module does; anything else is not plain."""

    @pytest.mark.parametrize(
        "data",
        [
            b"a,b\nc,d\n",
            b"a,b\r\nc,d\r\n",
            b"a,b\nc,d",  # no line end after the last record
            b"a,,b\n,c,\n",  # empty values
            b"a,two words\n",  # inner spaces are kept by both
            "a,Bremsbel\u00e4ge \u2013 vorn \u201eneu\u201c\n".encode(),  # umlauts, an en dash, quotation marks
        ],
    )
    @pytest.mark.parametrize("chunk", [0, 1, 2, 3, 5])
    def test_a_plain_file(self, data, chunk):
        assert _plain(data, chunk=chunk)

    @pytest.mark.parametrize(
        "data",
        [
            b'a,"b"\n',  # quotes: the parsers differ on a quote inside a field
            b"a,b\\.\n",  # PostgreSQL's end-of-data marker
            b"a,b\n\nc,d\n",  # a blank line: skipped by the csv module, refused by COPY
            b"a,b\r\n\r\nc,d\r\n",
            b"a,b\rc,d\n",  # a CR that is not part of a CRLF
            b"a,b\r",
            b"a ,b\n",  # whitespace str.strip() removes
            b"a, b\n",
            b"a,b \n",
            b"a,b\n c\n",
            b"a,b\t\n",
            b"a,b \r\n",
            b"a,b ",
            b"a,\x0bb\n",
            "a,\u00a0b\n".encode(),  # no-break space
            "a,b\u2003\n".encode(),  # em space
            "a,b\u3000\n".encode(),  # ideographic space
            b"a,\x00\n",
        ],
    )
    @pytest.mark.parametrize("chunk", [0, 1, 2, 3])
    def test_a_file_that_is_not_plain(self, data, chunk):
        assert not _plain(data, chunk=chunk)

    def test_the_tab_delimiter_is_no_whitespace_next_to_itself(self):
        assert _plain(b"a\t\tb\n", "\t")
        assert not _plain(b"a\t b\n", "\t")
        assert not _plain(b"a;b \n", ";")
