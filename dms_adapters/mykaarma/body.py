"""Seed 001's request body, built from a stored repair order's document.

``RepairOrder.document`` is the normalised body as OrMa's own ``GET order/{orderUUID}`` answers it: seed
001's shape extended by WorkshopOrder 2.x (DESIGN §4), values already in seed 001's formats (money as
two-decimal strings, ``yyyy-MM-dd``, ``HH:mm:ss``). The request is that document in seed 001's field order,
field by field from the lists below, so nothing OrMa keeps for itself (``orderUUID``, ``version``, ``dms``,
timestamps) can leak into it and a field the lists do not name is not sent.

Where each part goes:

- ``type``, ``header``, ``customer.uuid``, ``vehicle.uuid``, ``jobs[]`` with ``parts[]``, ``gog[]``,
  ``techHours[]``, ``comments[]``, ``ccc``, and the order's ``mls[]``: seed 001, as stored. An order
  without a vehicle is sent without ``vehicle`` (seed 001: "not sending vehicle.uuid will create an
  order without a vehicle").
- The 2.x additions DESIGN §4 gives a place in the same body, in that place: ``vehicle.vin``,
  ``references[]``, ``customerContact``, ``warranty``, ``jobs[].mls[]`` (DESIGN: a job holds mls lines
  too), ``mls[].description``/``vendor`` (sublets), ``jobs[].packages[]`` as a partner sends them
  (``packageCode``, ``quantity``) with the labour and part lines they expanded into (``jobs[].labour[]``,
  ``parts[].packageCode``), so the DMS gets the work and knows which package brought it.
- OrMa's own identity (its order UUID and version) is not in the body: seed 001 has no field for the
  caller's reference (``appointmentNumber`` and ``tagNumber`` are the DMS's own numbers, and
  ``references[]`` belong to the partner who sent the order). It travels in the ``Idempotency-Key``
  header (``dms_adapters.mykaarma``).
"""

from __future__ import annotations

from typing import Any

HEADER_FIELDS = """
    orderNumber serviceAccount accountingAccount status deptType advisorNumber advisorName assignedUserUuid
    creatorUserUuid appointmentNumber tagNumber mileageIn mileageOut createDate createTime promisedDate promisedTime
    voidDate closeDate closeTime waiter rental soldHours actualHours laborCost laborSale laborSaleCustomer
    laborSaleInternal laborSaleWarranty partsCost partsCostCustomer partsCostInternal partsCostWarranty partsSale
    partsSaleCustomer partsSaleInternal partsSaleWarranty lubeSale lubeSaleCustomer lubeSaleInternal lubeSaleWarranty
    miscSale miscSaleCustomer miscSaleInternal miscSaleWarranty subletSale subletSaleCustomer subletSaleInternal
    subletSaleWarranty customerPayAmount customerPayStateTax internalPayAmount warrantyPayAmount description
""".split()
JOB_FIELDS = """
    jobIdentifier jobNumberString lopSeqNumber laborOpCode laborOpCodeDesc laborType laborSale soldHours actualHours
    partsSale miscSale bookerNo dispatchLineStatus techNo campaignCode
""".split()
PART_FIELDS = "partNumber description seqNo quantityOrdered quantitySold cost salePrice saleTotal laborType".split()
GOG_FIELDS = "itemType itemDescription jobNumber quantity saleTotal salePrice laborType".split()
TECH_HOURS_FIELDS = "techNo partSeqNo laborCost laborSale soldHours otherHours laborType".split()
COMMENT_FIELDS = "comment lastUpdatedBy updateDate updateTime".split()
CCC_FIELDS = "complaint complaintCode cause correction".split()
MLS_FIELDS = """
    laborType opCode opCodeDesc failureCode salePrice costPrice saleCompany sourceCompany lineCode poNumber
    poCreateDate poLineID mlsType
""".split()

# WorkshopOrder 2.x (DESIGN §4)
SUBLET_FIELDS = ["description", "vendor"]
LINE_PACKAGE_FIELD = ["packageCode"]
PACKAGE_USE_FIELDS = ["packageCode", "quantity"]
LABOUR_FIELDS = ["laborOpCode", "laborOpCodeDesc", "soldHours", "packageCode"]
REFERENCE_FIELDS = ["type", "value"]
CONTACT_FIELDS = ["name", "phone", "email"]
WARRANTY_FIELDS = ["warrantyStartDate", "extendedWarrantyUntil", "claimReference"]


def _text(value: Any) -> str:
    """Seed 001 sends every value as a string ("mileageIn": "45210")."""
    return value if isinstance(value, str) else str(value)


def _pick(source: dict[str, Any] | None, names: list[str]) -> dict[str, str]:
    """The named fields ``source`` holds, in the order named."""
    if not source:
        return {}
    return {name: _text(source[name]) for name in names if source.get(name) is not None}


def _lines(source: dict[str, Any], key: str, names: list[str]) -> dict[str, list[dict[str, str]]]:
    """``{key: [...]}`` with each line's named fields, or nothing when the list is absent or empty."""
    lines = [_pick(line, names) for line in source.get(key) or ()]
    return {key: lines} if lines else {}


def _job(job: dict[str, Any]) -> dict[str, Any]:
    ccc = _pick(job.get("ccc"), CCC_FIELDS)
    return {
        **_pick(job, JOB_FIELDS),
        **_lines(job, "parts", PART_FIELDS + LINE_PACKAGE_FIELD),
        **_lines(job, "gog", GOG_FIELDS),
        **_lines(job, "techHours", TECH_HOURS_FIELDS),
        **_lines(job, "comments", COMMENT_FIELDS),
        **({"ccc": ccc} if ccc else {}),
        **_lines(job, "mls", MLS_FIELDS + SUBLET_FIELDS),
        **_lines(job, "packages", PACKAGE_USE_FIELDS),
        **_lines(job, "labour", LABOUR_FIELDS),
    }


def repair_order_request(document: dict[str, Any]) -> dict[str, Any]:
    """Seed 001's ``{"order": {...}}`` for a stored repair order's document (see the module's docstring)."""
    vehicle = _pick(document.get("vehicle"), ["uuid", "vin"])
    contact = _pick(document.get("customerContact"), CONTACT_FIELDS)
    warranty = _pick(document.get("warranty"), WARRANTY_FIELDS)
    jobs = [_job(job) for job in document.get("jobs") or ()]
    order: dict[str, Any] = {
        "type": _text(document.get("type") or "RO"),
        "header": _pick(document.get("header"), HEADER_FIELDS),
        **({"vehicle": vehicle} if vehicle else {}),
        "customer": _pick(document.get("customer"), ["uuid"]),
        **({"jobs": jobs} if jobs else {}),
        **_lines(document, "mls", MLS_FIELDS + SUBLET_FIELDS),
        **_lines(document, "references", REFERENCE_FIELDS),
        **({"customerContact": contact} if contact else {}),
        **({"warranty": warranty} if warranty else {}),
    }
    return {"order": order}
