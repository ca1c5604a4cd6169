"""The rows of a repair order, both ways: a normalised order onto its header columns and line tables, and
the order's document rendered back from them.

The write side is used only by ``services.repair_order_write``, the one write path. Every list becomes one
``bulk_create``, so an order with one job and an order with 200 jobs of 500 lines are written with the
same number of queries. The read side (:func:`document_from_rows`) is what
``selectors.repair_order_from_rows`` answers: the same JSON as the stored document, so a mistake in the
rows shows (the rows cannot tell an empty text, list or object sent from an absent one; the document,
which reads answer, can).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from typing import Any

from django.db import models

from . import body as spec
from .fields import render
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


@functools.lru_cache(maxsize=4096)  # ~100 calls per create, all of a few hundred names (bounded: keys come from bodies)
def column(api_name: str) -> str:
    """``laborSaleCustomer`` -> ``labor_sale_customer``; ``poLineID`` -> ``po_line_id``."""
    return _CAMEL.sub(r"_\1", api_name).lower()


_FIELD_NAMES: dict[type[models.Model], set[str]] = {}


def _field_names(model: type[models.Model]) -> set[str]:
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES[model] = {field.name for field in model._meta.concrete_fields}
    return names


def _columns(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """The model's columns among ``values`` (keyed by API name); nested objects and lists are not columns."""
    names = _field_names(model)
    row: dict[str, Any] = {}
    for api_name, value in values.items():
        name = column(api_name)
        if name in names and not isinstance(value, dict | list):
            row[name] = value
    return row


# The header fields that are not columns of their own name: the number and status are set apart, the
# date and time are the creation instant.
_HEADER_SKIP = {"orderNumber", "status", "createDate", "createTime"}
# WorkshopOrder 2.x objects kept as header columns: API name -> column.
_CONTACT_COLUMNS = {"name": "contact_name", "phone": "contact_phone", "email": "contact_email"}
_WARRANTY_COLUMNS = {
    "warrantyStartDate": "warranty_start_date",
    "extendedWarrantyUntil": "extended_warranty_until",
    "claimReference": "warranty_claim_reference",
}
_HEADER_OBJECTS = (("customerContact", _CONTACT_COLUMNS), ("warranty", _WARRANTY_COLUMNS))


def _cleared(model: type[models.Model], names: Iterable[str]) -> dict[str, Any]:
    """These columns of the model, empty: "" for text, None for the others."""
    wanted = set(names)
    return {
        field.name: "" if isinstance(field, models.CharField | models.TextField) else None
        for field in model._meta.concrete_fields
        if field.name in wanted
    }


_CLEARED_HEADER = _cleared(
    RepairOrder,
    [column(name) for name in spec.HEADER.fields if name not in _HEADER_SKIP]
    + [name for _, columns in _HEADER_OBJECTS for name in columns.values()],
)


def header_columns(order: dict[str, Any]) -> dict[str, Any]:
    """Every header column of RepairOrder, from the normalised order (absent fields cleared)."""
    header = order["header"]
    values = dict(_CLEARED_HEADER)
    for api_name, value in header.items():
        if api_name not in _HEADER_SKIP:
            values[column(api_name)] = value
    for key, columns in _HEADER_OBJECTS:
        for api_name, value in order.get(key, {}).items():
            values[columns[api_name]] = value
    values["order_number"] = header["orderNumber"]
    values["status"] = header["status"]
    return values


# Each list of a job, its line table and (for reading) the spec of its items.
JOB_LISTS: tuple[tuple[str, type[models.Model]], ...] = (
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


def job_columns(job: dict[str, Any]) -> dict[str, Any]:
    """The Job columns a normalised job sets: its own fields and its ``ccc`` (complaint, cause, correction)."""
    return {**_columns(Job, job), **_columns(Job, job.get("ccc", {}))}


def line_columns(model: type[models.Model], line: dict[str, Any]) -> dict[str, Any]:
    """The columns of a line table a normalised line sets (absent fields are left to the table's empty value)."""
    return _columns(model, line)


def write_lines(repair_order: RepairOrder, order: dict[str, Any]) -> None:
    """Insert the order's jobs, their lines, its mls lines and references: one INSERT per table (the ORM path;
    PostgreSQL writes them in one statement, ``orders.sql.write_lines``)."""
    job_dicts = order.get("jobs", [])
    job_defaults = _defaults(Job)
    jobs = []
    for position, job in enumerate(job_dicts):
        row = {**job_defaults, **job_columns(job)}
        jobs.append(Job(repair_order=repair_order, position=position, **row))
    Job.objects.bulk_create(jobs)  # primary keys come back (RETURNING), the lines need them

    for list_name, model in JOB_LISTS:
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
    """Remove the order's lines, jobs and references: one DELETE per table, whatever the order's size (the ORM
    path; PostgreSQL removes them in one statement, ``orders.sql.delete_lines``)."""
    MlsLine.objects.filter(repair_order=repair_order).delete()
    for _, model in JOB_LISTS:
        model._default_manager.filter(job__repair_order=repair_order).delete()
    # Every row pointing at these jobs is gone now; a raw delete skips the collector's per-relation
    # cascade queries (seven SELECT/DELETEs that would find nothing).
    Job.objects.filter(repair_order=repair_order)._raw_delete(Job.objects.db)
    OrderReference.objects.filter(repair_order=repair_order).delete()


# --- reading the rows back -----------------------------------------------------------------------

# What a package brings into a package use besides the spec's fields (services' ``_apply_package``).
_PACKAGE_PRICING = ("description", "unitPrice", "price", "currencyCode")


def _scalar_names(item: spec.Obj) -> list[str]:
    return [name for name, sub in item.fields.items() if isinstance(sub, spec.Field)]


def _rendered(row: models.Model, names: Iterable[str], columns: dict[str, str] | None = None) -> dict[str, Any]:
    """A row's columns under their API names, rendered as JSON; empty columns are absent fields."""
    values: dict[str, Any] = {}
    for api_name in names:
        value = getattr(row, (columns or {}).get(api_name) or column(api_name))
        if value not in ("", None):
            values[api_name] = render(value)
    return values


def _lines(rows: Iterable[models.Model], names: list[str]) -> list[dict[str, Any]]:
    return [_rendered(row, names) for row in rows]


def _job_document(job: Job) -> dict[str, Any]:
    document = _rendered(job, _scalar_names(spec.JOB))
    for list_name, _ in JOB_LISTS:
        lines_spec = spec.JOB.fields[list_name]
        assert isinstance(lines_spec, spec.ListOf)
        names = _scalar_names(lines_spec.item)
        if list_name == "packages":
            names += _PACKAGE_PRICING
        lines = _lines(getattr(job, column(list_name)).all(), names)
        if lines:
            document[list_name] = lines
    ccc = _rendered(job, _scalar_names(spec.CCC))
    if ccc:
        document["ccc"] = ccc
    mls = _lines(job.mls.all(), _scalar_names(spec.MLS))
    if mls:
        document["mls"] = mls
    return document


def document_from_rows(repair_order: RepairOrder, *, jobs: list[Job], order_mls: list[MlsLine]) -> dict[str, Any]:
    """The order as its columns and line tables hold it, in the shape of ``RepairOrder.document``.

    ``jobs`` (with their lines) and ``order_mls`` (the order's own mls lines) come loaded, in position order.
    """
    instant = repair_order.created_instant.astimezone(dt.UTC)
    header_names = [name for name in spec.HEADER.fields if name not in ("createDate", "createTime")]
    header = _rendered(repair_order, header_names)
    header.update(createDate=render(instant.date()), createTime=render(instant.time()))
    document: dict[str, Any] = {"type": "RO", "header": header}
    vehicle = repair_order.vehicle
    if vehicle is not None:
        document["vehicle"] = {"uuid": str(vehicle.uuid), "vin": vehicle.vin}
    document["customer"] = {"uuid": str(repair_order.customer.uuid)}
    if jobs:
        document["jobs"] = [_job_document(job) for job in jobs]
    if order_mls:
        document["mls"] = _lines(order_mls, _scalar_names(spec.MLS))
    references = [{"type": ref.type, "value": ref.value} for ref in repair_order.references.all()]
    if references:
        document["references"] = references
    for key, columns in _HEADER_OBJECTS:
        values = _rendered(repair_order, columns, columns)
        if values:
            document[key] = values
    return document
