"""Technical approval of a repair-order request: every field rule, every reference, the ±30-day rule.

``validate_repair_order`` answers a :class:`ValidatedOrder` ready for the create or update service, or
raises one ``ApiError`` naming every problem of the request at once. It reads (customer, vehicle,
packages, the window) but never writes; the services write and re-check the window under a lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orma.api.errors import ApiError, ErrorCode, Problem, Warning
from tenancy.models import Department

from . import body as spec
from .fields import FieldRuleError, render
from .models import Customer, RepairOrder, Vehicle
from .rules import (
    HOURS_LIMIT,
    MONEY_LIMIT,
    QUANTITY_LIMIT,
    apply_totals,
    computed_totals,
    creation_instant,
    total_limit,
)
from .selectors import (
    PricedPackage,
    customer_get,
    packages_priced,
    repair_order_conflict,
    vehicle_get,
    vehicle_get_by_vin,
)
from .vins import serviced_brand


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


def render_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: render_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [render_tree(item) for item in value]
    return render(value)


def duplicate_order_error(order_uuid: Any) -> ApiError:
    return ApiError.of(
        409,
        ErrorCode.DUPLICATE_ORDER,
        f"An order with this orderNumber exists within 30 days of this createDate/createTime: {order_uuid}. "
        f"Use the update endpoint (PUT order/{order_uuid}) to change it.",
    )


def too_large_error(message: str) -> ApiError:
    return ApiError.of(413, ErrorCode.PAYLOAD_TOO_LARGE, message)


def validate_repair_order(data: Any, *, department: Department, existing: RepairOrder | None = None) -> ValidatedOrder:
    """Check a create or update body against every rule; raise ApiError (400/409/413) or answer it."""
    try:
        spec.check_size(data)
    except spec.TooLarge as error:
        raise too_large_error(str(error)) from None
    if not isinstance(data, dict) or not isinstance(data.get("order"), dict):
        raise ApiError.of(400, ErrorCode.MALFORMED_JSON, 'The body must be a JSON object with an "order" object.')

    report = spec.Report()
    normalised = spec.walk_object(spec.BODY, data, "", report) or {}
    order = normalised.get("order", {})
    header = order.get("header", {})
    if "header" in order and not (header.get("advisorNumber") or header.get("assignedUserUuid")):
        report.problem(
            ErrorCode.FIELD_REQUIRED, "order.header.advisorNumber", "or order.header.assignedUserUuid is required"
        )

    dealer = department.dealer
    customer = _customer(order, dealer.id, report)
    vehicle, new_vin, new_brand = _vehicle(order, dealer, customer, report)
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
        raise ApiError(400, report.problems)

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

    instant = creation_instant(header["createDate"], header["createTime"])
    conflict = repair_order_conflict(
        department_id=department.id,
        order_number=header["orderNumber"],
        created_instant=instant,
        exclude_id=existing.id if existing else None,
    )
    if conflict is not None:
        raise duplicate_order_error(conflict.uuid)
    assert customer is not None  # a missing customer is a problem above
    return ValidatedOrder(order, warnings, customer, vehicle, new_vin, new_brand, instant)


def _customer(order: dict[str, Any], dealer_id: int, report: spec.Report) -> Customer | None:
    customer_uuid = order.get("customer", {}).get("uuid")
    if customer_uuid is None:
        return None
    customer = customer_get(dealer_id=dealer_id, customer_uuid=customer_uuid)
    if customer is None:
        report.problems.append(
            Problem(ErrorCode.UNKNOWN_CUSTOMER, f"order.customer.uuid {customer_uuid} is not a customer of this dealer")
        )
    return customer


def _vehicle(
    order: dict[str, Any], dealer: Any, customer: Customer | None, report: spec.Report
) -> tuple[Vehicle | None, str | None, str]:
    """The order's vehicle: by uuid, or by VIN (found, or to be created with the brand the VIN names)."""
    reference = order.get("vehicle", {})
    vin = reference.get("vin")  # syntax already checked and upper-cased by the spec
    if "uuid" in reference:
        vehicle = vehicle_get(dealer_id=dealer.id, vehicle_uuid=reference["uuid"])
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
        priced.price * times <= MONEY_LIMIT
        and all(line.sold_hours * times <= HOURS_LIMIT for line in package.labour_lines.all())
        and all(line.quantity * times <= QUANTITY_LIMIT for line in package.part_lines.all())
    )


def _apply_package(job: dict[str, Any], use: dict[str, Any], priced: PricedPackage) -> None:
    times = use.setdefault("quantity", Decimal("1.00"))
    code = priced.package.code
    use["description"] = priced.package.description
    use["unitPrice"] = priced.price
    use["price"] = (priced.price * times).quantize(Decimal("0.01"))
    use["currencyCode"] = priced.currency_code
    for line in priced.package.labour_lines.all():
        job["labour"].append(
            {
                "laborOpCode": line.labor_op_code,
                "laborOpCodeDesc": line.description,
                "soldHours": (line.sold_hours * times).quantize(Decimal("0.01")),
                "packageCode": code,
            }
        )
    for part_line in priced.package.part_lines.all():
        job.setdefault("parts", []).append(
            {
                "partNumber": part_line.part_number,
                "description": part_line.description,
                "quantityOrdered": (part_line.quantity * times).quantize(Decimal("0.01")),
                "salePrice": Decimal("0.00"),  # priced in the package
                "packageCode": code,
            }
        )
