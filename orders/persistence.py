"""Mapping a normalised repair order onto its rows: the header columns and one bulk insert per line table.

Used only by the create and update services. Every list becomes one ``bulk_create``, so an order with
one job and an order with 200 jobs of 500 lines are written with the same number of queries.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models

from .models import (
    CommentLine,
    GogLine,
    Job,
    LabourLine,
    MlsLine,
    OrderReference,
    PackageUse,
    PartLine,
    RepairOrder,
    TechHoursLine,
)

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def column(api_name: str) -> str:
    """``laborSaleCustomer`` -> ``labor_sale_customer``; ``poLineID`` -> ``po_line_id``."""
    return _CAMEL.sub(r"_\1", api_name).lower()


_FIELD_NAMES: dict[type[models.Model], set[str]] = {}


def _columns(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """The model's columns among ``values`` (keyed by API name); nested objects and lists are not columns."""
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES[model] = {field.name for field in model._meta.concrete_fields}
    row: dict[str, Any] = {}
    for api_name, value in values.items():
        name = column(api_name)
        if name in names and not isinstance(value, dict | list):
            row[name] = value
    return row


_HEADER_SKIP = {"orderNumber", "status", "createDate", "createTime"}


def header_columns(order: dict[str, Any]) -> dict[str, Any]:
    """Every header column of RepairOrder, from the normalised order (absent fields cleared)."""
    header = order["header"]
    values: dict[str, Any] = {}
    for field in RepairOrder._meta.concrete_fields:
        if field.name in _HEADER_COLUMN_NAMES:
            values[field.name] = "" if isinstance(field, models.CharField | models.TextField) else None
    for api_name, value in header.items():
        if api_name not in _HEADER_SKIP:
            values[column(api_name)] = value
    contact = order.get("customerContact", {})
    values.update(contact_name=contact.get("name", ""), contact_phone=contact.get("phone", ""))
    values["contact_email"] = contact.get("email", "")
    warranty = order.get("warranty", {})
    values["warranty_start_date"] = warranty.get("warrantyStartDate")
    values["extended_warranty_until"] = warranty.get("extendedWarrantyUntil")
    values["warranty_claim_reference"] = warranty.get("claimReference", "")
    values["order_number"] = header["orderNumber"]
    values["status"] = header["status"]
    return values


def _header_column_names() -> set[str]:
    from .body import HEADER

    return {column(name) for name in HEADER.fields if name not in _HEADER_SKIP}


_HEADER_COLUMN_NAMES = _header_column_names()

_JOB_LISTS: tuple[tuple[str, type[models.Model]], ...] = (
    ("parts", PartLine),
    ("gog", GogLine),
    ("techHours", TechHoursLine),
    ("comments", CommentLine),
    ("labour", LabourLine),
    ("packages", PackageUse),
)


def _defaults(model: type[models.Model]) -> dict[str, Any]:
    return {
        field.name: ""
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
    }


def write_lines(repair_order: RepairOrder, order: dict[str, Any]) -> None:
    """Insert the order's jobs, their lines, its mls lines and references: one INSERT per table."""
    job_dicts = order.get("jobs", [])
    job_defaults = _defaults(Job)
    jobs = []
    for position, job in enumerate(job_dicts):
        row = {**job_defaults, **_columns(Job, job), **_columns(Job, job.get("ccc", {}))}
        jobs.append(Job(repair_order=repair_order, position=position, **row))
    Job.objects.bulk_create(jobs)  # primary keys come back (RETURNING), the lines need them

    for list_name, model in _JOB_LISTS:
        defaults = _defaults(model)
        rows = [
            model(job=job, position=position, **{**defaults, **_columns(model, line)})
            for job, job_dict in zip(jobs, job_dicts, strict=True)
            for position, line in enumerate(job_dict.get(list_name, ()))
        ]
        if rows:
            model._default_manager.bulk_create(rows)

    mls_defaults = _defaults(MlsLine)
    mls_rows = [
        MlsLine(repair_order=repair_order, job=None, position=position, **{**mls_defaults, **_columns(MlsLine, line)})
        for position, line in enumerate(order.get("mls", ()))
    ]
    mls_rows += [
        MlsLine(repair_order=repair_order, job=job, position=position, **{**mls_defaults, **_columns(MlsLine, line)})
        for job, job_dict in zip(jobs, job_dicts, strict=True)
        for position, line in enumerate(job_dict.get("mls", ()))
    ]
    if mls_rows:
        MlsLine.objects.bulk_create(mls_rows)

    references = [
        OrderReference(repair_order=repair_order, position=position, type=ref["type"], value=ref["value"])
        for position, ref in enumerate(order.get("references", ()))
    ]
    if references:
        OrderReference.objects.bulk_create(references)


def delete_lines(repair_order: RepairOrder) -> None:
    """Remove the order's lines, jobs and references: one DELETE per table, whatever the order's size."""
    MlsLine.objects.filter(repair_order=repair_order).delete()
    for _, model in _JOB_LISTS:
        model._default_manager.filter(job__repair_order=repair_order).delete()
    # Every row pointing at these jobs is gone now; a raw delete skips the collector's per-relation
    # cascade queries (seven SELECT/DELETEs that would find nothing).
    Job.objects.filter(repair_order=repair_order)._raw_delete(Job.objects.db)
    OrderReference.objects.filter(repair_order=repair_order).delete()
