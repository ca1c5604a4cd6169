"""The repair-order request body (seed 001 + WorkshopOrder 2.x): its declarative spec and the walker.

The spec is the one home of the field rules: the walker validates and normalises a request with it,
reporting every problem at once with its path (``order.jobs[1].parts[0].partNumber``), and the OpenAPI
serializers are generated from it (``orders.api.serializers``), so the docs cannot drift from the rules.
Hand-written rather than nested DRF serializers because validation runs on every create and update: the
walker costs a fraction of DRF's per-field machinery (see STYLE.md, "Where the time goes").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orma.errors import DomainError, ErrorCode, Problem, Warning

from . import fields as f
from .choices import ReferenceType, RepairOrderStatus
from .vins import normalise_vin

MAX_JOBS = 200
MAX_LINES_PER_JOB = 500

WARNING_NO_VEHICLE = 1001
WARNING_LABOR_TYPE = 1002
WARNING_TOTALS = 1003
WARNING_UNKNOWN_FIELDS = 1004
WARNING_CLOSED_BEFORE_CREATED = 1005

PREFERRED_LABOR_TYPES = ("C", "W", "I")


@dataclass(frozen=True)
class Field:
    """A scalar field: its rule and whether it must be present."""

    rule: f.ValueRule[Any]
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Obj:
    """A JSON object with known fields; ``name`` names its OpenAPI component."""

    name: str
    fields: dict[str, Field | Obj | ListOf]
    required: bool = False


@dataclass(frozen=True)
class ListOf:
    """A JSON array of objects."""

    item: Obj
    required: bool = False


def _money_fields(*names: str) -> dict[str, Field]:
    return {name: Field(f.money) for name in names}


HEADER = Obj(
    "RepairOrderHeader",
    {
        "orderNumber": Field(f.order_number, required=True),
        "serviceAccount": Field(f.code),
        "accountingAccount": Field(f.code),
        "status": Field(f.one_of(RepairOrderStatus.values), required=True),
        "deptType": Field(f.code),
        "advisorNumber": Field(f.code),
        "advisorName": Field(f.name),
        "assignedUserUuid": Field(f.code),
        "creatorUserUuid": Field(f.code),
        "appointmentNumber": Field(f.code),
        "tagNumber": Field(f.code),
        "mileageIn": Field(f.whole_number),
        "mileageOut": Field(f.whole_number),
        "createDate": Field(f.date, required=True),
        "createTime": Field(f.time, required=True),
        "promisedDate": Field(f.date),
        "promisedTime": Field(f.time),
        "voidDate": Field(f.date_time),
        "closeDate": Field(f.date),
        "closeTime": Field(f.time),
        "waiter": Field(f.yes_no),
        "rental": Field(f.yes_no),
        "soldHours": Field(f.hours),
        "actualHours": Field(f.hours),
        **_money_fields(
            "laborCost",
            "laborSale",
            "laborSaleCustomer",
            "laborSaleInternal",
            "laborSaleWarranty",
            "partsCost",
            "partsCostCustomer",
            "partsCostInternal",
            "partsCostWarranty",
            "partsSale",
            "partsSaleCustomer",
            "partsSaleInternal",
            "partsSaleWarranty",
            "lubeSale",
            "lubeSaleCustomer",
            "lubeSaleInternal",
            "lubeSaleWarranty",
            "miscSale",
            "miscSaleCustomer",
            "miscSaleInternal",
            "miscSaleWarranty",
            "subletSale",
            "subletSaleCustomer",
            "subletSaleInternal",
            "subletSaleWarranty",
            "customerPayAmount",
            "customerPayStateTax",
            "internalPayAmount",
            "warrantyPayAmount",
        ),
        "description": Field(f.text),
    },
    required=True,
)

PART = Obj(
    "RepairOrderPartLine",
    {
        "partNumber": Field(f.code, required=True),
        "description": Field(f.text),
        "seqNo": Field(f.code),
        "quantityOrdered": Field(f.quantity),
        "quantitySold": Field(f.quantity),
        "cost": Field(f.money),
        "salePrice": Field(f.money),
        "saleTotal": Field(f.money),
        "laborType": Field(f.code),
        "packageCode": Field(f.code, description="set on lines a service package brought; re-derived on write"),
    },
)

LABOUR = Obj(
    "RepairOrderLabourLine",
    {
        "laborOpCode": Field(f.code),
        "laborOpCodeDesc": Field(f.text),
        "soldHours": Field(f.hours),
        "packageCode": Field(f.code),
    },
)

GOG = Obj(
    "RepairOrderGogLine",
    {
        "itemType": Field(f.code),
        "itemDescription": Field(f.text),
        "jobNumber": Field(f.code),
        "quantity": Field(f.quantity),
        "saleTotal": Field(f.money),
        "salePrice": Field(f.money),
        "laborType": Field(f.code),
    },
)

TECH_HOURS = Obj(
    "RepairOrderTechHours",
    {
        "techNo": Field(f.code),
        "partSeqNo": Field(f.code),
        "laborCost": Field(f.money),
        "laborSale": Field(f.money),
        "soldHours": Field(f.hours),
        "otherHours": Field(f.hours),
        "laborType": Field(f.code),
    },
)

COMMENT = Obj(
    "RepairOrderComment",
    {
        "comment": Field(f.text),
        "lastUpdatedBy": Field(f.name),
        "updateDate": Field(f.date),
        "updateTime": Field(f.time),
    },
)

CCC = Obj(
    "RepairOrderComplaintCauseCorrection",
    {
        "complaint": Field(f.text),
        "complaintCode": Field(f.code),
        "cause": Field(f.text),
        "correction": Field(f.text),
    },
)

MLS = Obj(
    "RepairOrderMlsLine",
    {
        "laborType": Field(f.code),
        "opCode": Field(f.code),
        "opCodeDesc": Field(f.text),
        "failureCode": Field(f.code),
        "salePrice": Field(f.money),
        "costPrice": Field(f.money),
        "saleCompany": Field(f.name),
        "sourceCompany": Field(f.name),
        "lineCode": Field(f.code),
        "poNumber": Field(f.code),
        "poCreateDate": Field(f.date),
        "poLineID": Field(f.code),
        "mlsType": Field(f.code, description="MISC, LUBE or SUBLET (external work)"),
        "description": Field(f.text),
        "vendor": Field(f.name),
    },
)

PACKAGE_USE = Obj(
    "RepairOrderPackageUse",
    {
        "packageCode": Field(f.code, required=True),
        "quantity": Field(f.positive_quantity, description="default 1"),
    },
)

JOB = Obj(
    "RepairOrderJob",
    {
        "jobIdentifier": Field(f.code),
        "jobNumberString": Field(f.code, required=True),
        "lopSeqNumber": Field(f.code),
        "laborOpCode": Field(f.code, required=True),
        "laborOpCodeDesc": Field(f.text),
        "laborType": Field(f.code),
        "laborSale": Field(f.money),
        "soldHours": Field(f.hours),
        "actualHours": Field(f.hours),
        "partsSale": Field(f.money),
        "miscSale": Field(f.money),
        "bookerNo": Field(f.code),
        "dispatchLineStatus": Field(f.code),
        "techNo": Field(f.code),
        "campaignCode": Field(f.code),
        "parts": ListOf(PART),
        "gog": ListOf(GOG),
        "techHours": ListOf(TECH_HOURS),
        "comments": ListOf(COMMENT),
        "ccc": CCC,
        "mls": ListOf(MLS),
        "packages": ListOf(PACKAGE_USE),
        "labour": ListOf(LABOUR),
    },
)

ORDER = Obj(
    "RepairOrderBody",
    {
        "type": Field(f.order_type, required=True),
        "header": HEADER,
        "vehicle": Obj(
            "RepairOrderVehicleRef",
            {"uuid": Field(f.uuid_text), "vin": Field(normalise_vin, description="17 characters; found or created")},
        ),
        "customer": Obj("RepairOrderCustomerRef", {"uuid": Field(f.uuid_text, required=True)}, required=True),
        "jobs": ListOf(JOB),
        "mls": ListOf(MLS),
        "references": ListOf(
            Obj(
                "RepairOrderReference",
                {"type": Field(f.one_of(ReferenceType.values), required=True), "value": Field(f.code, required=True)},
            )
        ),
        "customerContact": Obj(
            "RepairOrderCustomerContact", {"name": Field(f.name), "phone": Field(f.code), "email": Field(f.email)}
        ),
        "warranty": Obj(
            "RepairOrderWarranty",
            {
                "warrantyStartDate": Field(f.date),
                "extendedWarrantyUntil": Field(f.date),
                "claimReference": Field(f.code),
            },
        ),
    },
    required=True,
)

BODY = Obj("RepairOrderRequest", {"order": ORDER}, required=True)

CUSTOMER_BODY = Obj(
    "CustomerRequest",
    {
        "customer": Obj(
            "Customer",
            {
                "titleCommon": Field(f.code),
                "givenName": Field(f.name),
                "familyName": Field(f.name, description="familyName or companyName is required"),
                "companyName": Field(f.name, description="familyName or companyName is required"),
                "email": Field(f.email),
                "phone": Field(f.code),
                "invoiceAddress": Obj(
                    "InvoiceAddress",
                    {
                        "streetName": Field(f.name),
                        "postalCode": Field(f.code),
                        "city": Field(f.name),
                        "countryCode": Field(f.country_code),
                    },
                ),
            },
            required=True,
        )
    },
    required=True,
)

VEHICLE_BODY = Obj(
    "VehicleRequest",
    {
        "vehicle": Obj(
            "Vehicle",
            {
                "vin": Field(normalise_vin, required=True, description="17 characters; the brand is derived from it"),
                "customerUUID": Field(f.uuid_text),
                "model": Field(f.name),
                "modelYear": Field(f.model_year),
                "licensePlate": Field(f.code),
                "mileage": Field(f.count),
            },
            required=True,
        )
    },
    required=True,
)

LINE_LISTS = ("parts", "gog", "techHours", "comments", "mls", "packages", "labour")


@dataclass
class Report:
    """Everything wrong with (and remarkable about) one request body."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    def problem(self, code: str, path: str, message: str, value: Any = None) -> None:
        self.problems.append(Problem(code, f"{path} {message}", path, value))

    def unknown_fields_warnings(self) -> list[Warning]:
        """Warning 1004 naming (up to 50 of) the fields the spec does not know; none when there are none."""
        if not self.unknown_fields:
            return []
        names = ", ".join(self.unknown_fields[:50]) + (" ..." if len(self.unknown_fields) > 50 else "")
        return [Warning(WARNING_UNKNOWN_FIELDS, f"Unknown fields were ignored: {names}")]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _quoted_name(key: str) -> str:
    """An unknown field's name as warning 1004 can quote it: lone surrogates (which cannot be encoded as
    UTF-8, so the answer could not be rendered) and control characters such as NUL appear escaped."""
    if key.isprintable():
        return key
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in key)


def walk_object(spec: Obj, value: Any, path: str, report: Report) -> dict[str, Any] | None:
    """Validate one object against its spec; answers the normalised dict (None when unusable)."""
    if not isinstance(value, dict):
        report.problem(ErrorCode.FIELD_INVALID, path, "must be an object")
        return None
    result: dict[str, Any] = {}
    spec_fields = spec.fields
    for key in value:
        if key not in spec_fields:
            report.unknown_fields.append(_join(path, _quoted_name(str(key))))
    for key, sub in spec_fields.items():
        raw = value.get(key)
        sub_path = _join(path, key)
        if isinstance(sub, Field) and raw == "" and not sub.rule.is_text:
            raw = None  # an empty money, date or flag is an absent one
        if raw is None or (raw == "" and isinstance(sub, Field) and sub.required):
            if sub.required:
                report.problem(ErrorCode.FIELD_REQUIRED, sub_path, "is required")
            continue
        if isinstance(sub, Field):
            try:
                result[key] = sub.rule(raw)
            except f.FieldRuleError as error:
                report.problem(error.code, sub_path, error.message, raw)
        elif isinstance(sub, Obj):
            walked = walk_object(sub, raw, sub_path, report)
            if walked is not None:
                result[key] = walked
        else:
            items = walk_list(sub, raw, sub_path, report)
            if items is not None:
                result[key] = items
    return result


def walk_list(spec: ListOf, value: Any, path: str, report: Report) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        report.problem(ErrorCode.FIELD_INVALID, path, "must be an array")
        return None
    items = []
    for index, item in enumerate(value):
        walked = walk_object(spec.item, item, f"{path}[{index}]", report)
        if walked is not None:
            items.append(walked)
    return items


def _too_large(description: str) -> DomainError:
    return DomainError.of(ErrorCode.PAYLOAD_TOO_LARGE, description)


def check_size(body: Any) -> None:
    """Refuse absurd orders before walking them: more than 200 jobs or 500 lines in one job (PAYLOAD_TOO_LARGE)."""
    order = body.get("order") if isinstance(body, dict) else None
    jobs = order.get("jobs") if isinstance(order, dict) else None
    if not isinstance(jobs, list):
        return
    if len(jobs) > MAX_JOBS:
        raise _too_large(f"order.jobs has {len(jobs)} jobs; at most {MAX_JOBS} are accepted")
    for index, job in enumerate(jobs):
        if isinstance(job, dict):
            lines = sum(len(job[key]) for key in LINE_LISTS if isinstance(job.get(key), list))
            if lines > MAX_LINES_PER_JOB:
                raise _too_large(
                    f"order.jobs[{index}] has {lines} lines; at most {MAX_LINES_PER_JOB} lines per job are accepted"
                )


def labor_type_warnings(order: dict[str, Any]) -> list[Warning]:
    """Warning 1002 for every laborType outside the preferred C, W, I."""
    warnings = []
    for job_index, job in enumerate(order.get("jobs", ())):
        path = f"order.jobs[{job_index}]"
        if "laborType" in job and job["laborType"] not in PREFERRED_LABOR_TYPES:
            warnings.append(_labor_type_warning(f"{path}.laborType", job["laborType"]))
        for list_name in ("parts", "gog", "techHours", "mls"):
            for line_index, line in enumerate(job.get(list_name, ())):
                if "laborType" in line and line["laborType"] not in PREFERRED_LABOR_TYPES:
                    warnings.append(
                        _labor_type_warning(f"{path}.{list_name}[{line_index}].laborType", line["laborType"])
                    )
    for line_index, line in enumerate(order.get("mls", ())):
        if "laborType" in line and line["laborType"] not in PREFERRED_LABOR_TYPES:
            warnings.append(_labor_type_warning(f"order.mls[{line_index}].laborType", line["laborType"]))
    return warnings


def _labor_type_warning(path: str, value: str) -> Warning:
    return Warning(WARNING_LABOR_TYPE, f"{path} is {value[:50]!r}; the preferred values are C, W and I")
