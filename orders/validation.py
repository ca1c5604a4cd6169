"""Technical approval of the orders app's requests: repair orders, customers, vehicles, and the lookups.

``validate_repair_order`` answers a :class:`ValidatedOrder` ready for the create or update service, or
raises one :class:`~orma.errors.DomainError` naming every problem of the request at once: the field rules
(the spec walker, :func:`repair_order_fields`), then the references, the packages, the totals and the
±30-day rule (:func:`repair_order_approve`). ``validate_customer`` and ``validate_vehicle`` do the same for
their bodies. These read (customer, vehicle, packages, the window) but never write; the services write
and re-check the window under a lock. The API's request serializers call them, and so do the admin and
the commands, so every write path applies the same rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orma.errors import DomainError, ErrorCode, Problem, Warning
from tenancy.models import Dealer, Department

from . import body as spec
from . import sql
from .fields import HOURS, MONEY, NAME_MAX, QUANTITY, FieldRuleError, render
from .models import Customer, RepairOrder, Vehicle
from .rules import apply_totals, computed_totals, creation_instant, customer_has_name, total_limit
from .selectors import (
    PricedPackage,
    customer_get,
    packages_priced,
    repair_order_conflict,
    vehicle_get,
    vehicle_get_by_vin,
)
from .vins import normalise_vin, serviced_brand


@dataclass
class ValidatedOrder:
    """A request that passed technical approval: normalised values and the rows it refers to."""

    order: dict[str, Any]  # normalised: Decimal, date, time ... (see orders.fields)
    warnings: list[Warning]
    customer: Customer
    vehicle: Vehicle | None
    new_vehicle_vin: str | None  # a vehicle to create (order by VIN of an unknown vehicle)
    new_vehicle_brand: str
    created_instant: dt.datetime

    @property
    def order_number(self) -> str:
        return self.order["header"]["orderNumber"]

    def document(self) -> dict[str, Any]:
        """The normalised order as JSON, the way GET answers it."""
        return render_tree(self.order)


@dataclass
class CheckedOrder:
    """A body through the field rules: its normalised ``order`` and every problem found so far."""

    order: dict[str, Any]
    report: spec.Report


def render_tree(value: Any) -> Any:
    """A normalised tree as JSON values (``orders.fields.render`` on every leaf)."""
    if isinstance(value, dict):
        return {key: render_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [render_tree(item) for item in value]
    return render(value)


def duplicate_order_error(order_uuid: Any) -> DomainError:
    return DomainError.of(
        ErrorCode.DUPLICATE_ORDER,
        f"An order with this orderNumber exists within 30 days of this createDate/createTime: {order_uuid}. "
        f"Use the update endpoint (PUT order/{order_uuid}) to change it.",
    )


def repair_order_window_check(
    *, department_id: int, order_number: str, created_instant: dt.datetime, exclude_id: int | None = None
) -> None:
    """The ±30-day rule: DUPLICATE_ORDER naming the order a write at this number and instant would repeat.

    Called by the create and update services under the lock of the order number, where two simultaneous
    writers cannot both pass it (and by the admin's validation, to show it on the form).
    """
    conflict = repair_order_conflict(
        department_id=department_id, order_number=order_number, created_instant=created_instant, exclude_id=exclude_id
    )
    if conflict is not None:
        raise duplicate_order_error(conflict.uuid)


def _malformed(envelope_key: str, article: str = "a") -> DomainError:
    return DomainError.of(
        ErrorCode.MALFORMED_JSON, f'The body must be a JSON object with {article} "{envelope_key}" object.'
    )


def repair_order_fields(data: Any) -> CheckedOrder:
    """The per-field work on a create or update body: its size (413), its shape (MALFORMED_JSON), every
    field rule, and advisorNumber or assignedUserUuid. Field problems are collected, not raised, so that
    :func:`repair_order_approve` answers them together with the references'."""
    spec.check_size(data)
    if not isinstance(data, dict) or not isinstance(data.get("order"), dict):
        raise _malformed("order", "an")
    report = spec.Report()
    normalised = spec.walk_object(spec.BODY, data, "", report) or {}
    order = normalised.get("order", {})
    header = order.get("header", {})
    if "header" in order and not (header.get("advisorNumber") or header.get("assignedUserUuid")):
        report.problem(
            ErrorCode.FIELD_REQUIRED, "order.header.advisorNumber", "or order.header.assignedUserUuid is required"
        )
    return CheckedOrder(order, report)


def repair_order_approve(
    checked: CheckedOrder, *, department: Department, existing: RepairOrder | None = None, window: bool = True
) -> ValidatedOrder:
    """The rest of technical approval: customer, vehicle and packages of this dealer, totals, warnings, and
    the ±30-day rule (excluding ``existing``, the order an update replaces); DomainError (400/409) or the
    validated order.

    ``window=False`` leaves the ±30-day rule to the create or update service, which checks it under its lock
    anyway (the API: one check instead of two, with the same answer, since nothing else can fail between the
    two). The admin keeps the check here, so that its form shows a DUPLICATE_ORDER next to the fields."""
    order, report = checked.order, checked.report
    header = order.get("header", {})
    dealer = department.dealer
    customer_uuid = order.get("customer", {}).get("uuid")
    find_customer, find_vehicle = _finders(dealer.id, customer_uuid, order.get("vehicle", {}).get("uuid"))
    customer = _customer_reference(dealer.id, customer_uuid, "order.customer.uuid", report, find=find_customer)
    vehicle, new_vin, new_brand = _vehicle(order, dealer, report, find=find_vehicle)
    _expand_packages(order, dealer.id, vehicle.brand if vehicle else new_brand, report)
    computed = computed_totals(order)
    for name, total in computed.items():
        if total > total_limit(name) and name not in header:
            report.problem(
                ErrorCode.FIELD_INVALID,
                f"order.header.{name}",
                f"is missing and the lines add up to {total:.2f}, more than the field holds",
            )
    if report.problems:
        raise DomainError(report.problems)

    warnings: list[Warning] = []
    if vehicle is None and new_vin is None:
        warnings.append(
            Warning(spec.WARNING_NO_VEHICLE, "The order has no vehicle (neither vehicle.uuid nor vehicle.vin).")
        )
    warnings.extend(spec.labor_type_warnings(order))
    disagreeing = apply_totals(header, computed)
    if disagreeing:
        warnings.append(Warning(spec.WARNING_TOTALS, "Given totals disagree with the lines: " + "; ".join(disagreeing)))
    warnings.extend(report.unknown_fields_warnings())
    warnings.extend(closed_before_created_warnings(header))

    instant = creation_instant(header["createDate"], header["createTime"])
    if window:
        repair_order_window_check(
            department_id=department.id,
            order_number=header["orderNumber"],
            created_instant=instant,
            exclude_id=existing.id if existing else None,
        )
    assert customer is not None  # a missing customer is a problem above
    return ValidatedOrder(order, warnings, customer, vehicle, new_vin, new_brand, instant)


def closed_before_created_warnings(header: dict[str, Any]) -> list[Warning]:
    """Warning 1005 when the order closes before it was created (closeDate/closeTime before createDate/createTime).

    A warning, not an error: DMSs backdate and the order is still worth storing, but the partner should look.
    """
    if "closeDate" not in header or "createDate" not in header:
        return []
    closed = (header["closeDate"], header.get("closeTime", dt.time.max))
    created = (header["createDate"], header.get("createTime", dt.time.min))
    if closed >= created:
        return []
    close_text = " ".join(render(value) for value in (header["closeDate"], header.get("closeTime")) if value)
    create_text = " ".join(render(value) for value in (header["createDate"], header.get("createTime")) if value)
    return [
        Warning(
            spec.WARNING_CLOSED_BEFORE_CREATED,
            f"order.header.closeDate/closeTime {close_text} is before order.header.createDate/createTime "
            f"{create_text}.",
        )
    ]


def validate_repair_order(data: Any, *, department: Department, existing: RepairOrder | None = None) -> ValidatedOrder:
    """Check a create or update body against every rule; raise DomainError (400/409/413) or answer it."""
    return repair_order_approve(repair_order_fields(data), department=department, existing=existing)


def _finders(dealer_id: int, customer_uuid: str | None, vehicle_uuid: str | None) -> tuple[Any, Any]:
    """How to find the customer and the vehicle (by uuid) a body names: on PostgreSQL, when it names both (the
    sample, and most partners), both are fetched at once here (``orders.sql.customer_and_vehicle``: one
    statement instead of two ORM queries); otherwise by :func:`customer_get` and :func:`vehicle_get`."""
    if customer_uuid is None or vehicle_uuid is None or not sql.on_postgresql():
        return customer_get, vehicle_get
    customer, vehicle = sql.customer_and_vehicle(dealer_id, customer_uuid, vehicle_uuid)
    return (lambda **_: customer), (lambda **_: vehicle)


def _customer_reference(
    dealer_id: int, customer_uuid: str | None, path: str, report: spec.Report, *, find: Any = customer_get
) -> Customer | None:
    """The dealer's customer a body names at ``path`` (UNKNOWN_CUSTOMER when it has no such customer)."""
    if customer_uuid is None:
        return None
    customer = find(dealer_id=dealer_id, customer_uuid=customer_uuid)
    if customer is None:
        report.problems.append(
            Problem(ErrorCode.UNKNOWN_CUSTOMER, f"{path} {customer_uuid} is not a customer of this dealer")
        )
    return customer


def _vehicle(
    order: dict[str, Any], dealer: Dealer, report: spec.Report, *, find: Any = vehicle_get
) -> tuple[Vehicle | None, str | None, str]:
    """The order's vehicle: by uuid, or by VIN (found, or to be created with the brand the VIN names)."""
    reference = order.get("vehicle", {})
    vin = reference.get("vin")  # syntax already checked and upper-cased by the spec
    if "uuid" in reference:
        vehicle = find(dealer_id=dealer.id, vehicle_uuid=reference["uuid"])
        if vehicle is None:
            report.problems.append(
                Problem(
                    ErrorCode.UNKNOWN_VEHICLE, f"order.vehicle.uuid {reference['uuid']} is not a vehicle of this dealer"
                )
            )
        elif vin is not None and vin != vehicle.vin:
            report.problem(ErrorCode.FIELD_INVALID, "order.vehicle.vin", f"does not match vehicle {vehicle.uuid}'s VIN")
        return vehicle, None, ""
    if vin is None:
        return None, None, ""
    vehicle = vehicle_get_by_vin(dealer_id=dealer.id, vin=vin)
    if vehicle is not None:
        return vehicle, None, ""
    try:
        brand = serviced_brand(vin, dealer.brands)
    except FieldRuleError as error:
        report.problem(error.code, "order.vehicle.vin", error.message, vin)
        return None, None, ""
    return None, vin, brand


def _expand_packages(order: dict[str, Any], dealer_id: int, brand: str | None, report: spec.Report) -> None:
    """Replace each job's package references by the package's labour and part lines at the dealer's price.

    Lines a package brought earlier (``packageCode`` set, as GET answers them) are dropped first, so that
    sending back what GET answered does not duplicate them.
    """
    jobs = order.get("jobs", ())
    codes = {use["packageCode"] for job in jobs for use in job.get("packages", ()) if "packageCode" in use}
    if not codes and not any(job.get("labour") for job in jobs):
        return
    priced = packages_priced(dealer_id=dealer_id, codes=codes) if codes else {}
    for job_index, job in enumerate(jobs):
        job["parts"] = [part for part in job.get("parts", ()) if not part.get("packageCode")]
        job["labour"] = []
        for use_index, use in enumerate(job.get("packages", ())):
            if "packageCode" not in use:
                continue  # already reported as FIELD_REQUIRED
            package = priced.get(use["packageCode"])
            path = f"order.jobs[{job_index}].packages[{use_index}].packageCode"
            if package is None:
                report.problems.append(
                    Problem(ErrorCode.UNKNOWN_PACKAGE, f"{path} {use['packageCode']!r} is not a package of this dealer")
                )
                continue
            if not package.applies_to(brand):
                report.problem(ErrorCode.FIELD_INVALID, path, f"does not apply to vehicles of brand {brand}")
                continue
            if not _package_fits(use, package):
                report.problem(
                    ErrorCode.FIELD_INVALID,
                    f"order.jobs[{job_index}].packages[{use_index}].quantity",
                    "is so large that the package's price, hours or quantities exceed what a line holds",
                )
                continue
            _apply_package(job, use, package)
        if not job["parts"]:
            del job["parts"]
        if not job["labour"]:
            del job["labour"]


def _package_fits(use: dict[str, Any], priced: PricedPackage) -> bool:
    """Whether the package times its quantity stays within the line columns (money, hours, quantities)."""
    times = use.get("quantity", Decimal("1.00"))
    package = priced.package
    return (
        priced.price * times <= MONEY.limit
        and all(line.sold_hours * times <= HOURS.limit for line in package.labour_lines.all())
        and all(line.quantity * times <= QUANTITY.limit for line in package.part_lines.all())
    )


def _apply_package(job: dict[str, Any], use: dict[str, Any], priced: PricedPackage) -> None:
    times = use.setdefault("quantity", Decimal("1.00"))
    code = priced.package.code
    use["description"] = priced.package.description
    use["unitPrice"] = priced.price
    use["price"] = (priced.price * times).quantize(MONEY.quantum)
    use["currencyCode"] = priced.currency_code
    for line in priced.package.labour_lines.all():
        job["labour"].append(
            {
                "laborOpCode": line.labor_op_code,
                "laborOpCodeDesc": line.description,
                "soldHours": (line.sold_hours * times).quantize(HOURS.quantum),
                "packageCode": code,
            }
        )
    for part_line in priced.package.part_lines.all():
        job.setdefault("parts", []).append(
            {
                "partNumber": part_line.part_number,
                "description": part_line.description,
                "quantityOrdered": (part_line.quantity * times).quantize(QUANTITY.quantum),
                "salePrice": Decimal("0.00"),  # priced in the package
                "packageCode": code,
            }
        )


# --- customers and vehicles ----------------------------------------------------------------------


@dataclass
class ValidatedCustomer:
    """A ``customer`` body that passed its rules: the normalised object and the warnings (1004)."""

    data: dict[str, Any]
    warnings: list[Warning]


@dataclass
class ValidatedVehicle:
    """A ``vehicle`` body that passed its rules, with the customer it names and the brand its VIN says."""

    data: dict[str, Any]
    customer: Customer | None
    brand: str
    warnings: list[Warning]


def _walk_body(body_spec: spec.Obj, data: Any, envelope_key: str) -> tuple[dict[str, Any], spec.Report]:
    """The ``envelope_key`` object of a body through the field rules (MALFORMED_JSON without one)."""
    if not isinstance(data, dict) or not isinstance(data.get(envelope_key), dict):
        raise _malformed(envelope_key)
    report = spec.Report()
    normalised = spec.walk_object(body_spec, data, "", report) or {}
    return normalised.get(envelope_key, {}), report


def validate_customer(data: Any) -> ValidatedCustomer:
    """Check a customer create or update body: the field rules, and familyName or companyName."""
    customer, report = _walk_body(spec.CUSTOMER_BODY, data, "customer")
    if not customer_has_name(customer.get("familyName", ""), customer.get("companyName", "")):
        report.problem(ErrorCode.FIELD_REQUIRED, "customer.familyName", "or customer.companyName is required")
    if report.problems:
        raise DomainError(report.problems)
    return ValidatedCustomer(customer, report.unknown_fields_warnings())


def validate_vehicle(data: Any, *, dealer: Dealer) -> ValidatedVehicle:
    """Check a vehicle create or update body: the field rules, a VIN of a brand the dealer services, and
    the customer it names (one of this dealer's)."""
    vehicle, report = _walk_body(spec.VEHICLE_BODY, data, "vehicle")
    brand = ""
    if "vin" in vehicle:  # syntax already checked by the spec; the brand must be one the dealer services
        try:
            brand = serviced_brand(vehicle["vin"], dealer.brands)
        except FieldRuleError as error:
            report.problem(error.code, "vehicle.vin", error.message, vehicle["vin"])
    customer = _customer_reference(dealer.id, vehicle.get("customerUUID"), "vehicle.customerUUID", report)
    if report.problems:
        raise DomainError(report.problems)
    return ValidatedVehicle(vehicle, customer, brand, report.unknown_fields_warnings())


# --- query parameters ----------------------------------------------------------------------------


def customer_search_text(raw: str | None) -> str:
    """What ``GET customer?search=`` looks for: trimmed, at most a name's length, without NUL."""
    return (raw or "").strip()[:NAME_MAX].replace("\x00", "")


def vehicle_lookup_vin(raw: str | None) -> str:
    """The VIN ``GET vehicle?vin=`` looks for: trimmed and upper-cased (FIELD_REQUIRED when empty)."""
    vin = (raw or "").strip().upper()
    if not vin:
        raise DomainError.of(ErrorCode.FIELD_REQUIRED, "vin is required", field="vin")
    return vin[:17]


def package_lookup_vin(raw: str | None) -> str:
    """The VIN ``GET package?vin=`` fits packages to: a valid VIN (FIELD_INVALID otherwise)."""
    try:
        return normalise_vin(raw or "")
    except FieldRuleError as error:
        raise DomainError.of(error.code, f"vin {error.message}", field="vin", value=raw) from None
