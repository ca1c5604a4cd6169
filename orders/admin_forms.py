"""The repair order's change form: the stored order document, edited, then through the API's rules.

The form edits the order's document (what reads answer), not its rows: the header fields, the customer and
vehicle, each job and its part lines. On ``clean`` the edited document becomes a request body and goes
through ``orders.validation.validate_repair_order``, the same technical approval as the API's (field rules,
references, packages, totals, the ±30-day rule); its problems land on the fields they name, or on top of the
form. The admin then saves the validated order with ``orders.services.repair_order_update`` and the version
the form was opened at, so a form opened before someone else's change is refused, never saved over it.
Lines the form does not edit (labour and parts a package brought, gog, technician hours, comments, sublets)
travel in the document unchanged.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from orma.errors import DomainError, Problem

from .choices import RepairOrderStatus
from .models import RepairOrder
from .rules import computed_totals
from .validation import ValidatedOrder, repair_order_fields, validate_repair_order

# The header fields the form edits: document key -> (label, form field factory).
_TEXT: dict[str, Any] = {"required": False}


def _header_fields() -> dict[str, forms.Field]:
    return {
        "orderNumber": forms.CharField(label="Order number", max_length=50, required=False),
        "status": forms.ChoiceField(label="Status", choices=RepairOrderStatus.choices),
        "createDate": forms.CharField(label="Created on (UTC)", required=False, help_text="yyyy-MM-dd"),
        "createTime": forms.CharField(label="at (UTC)", required=False, help_text="HH:mm:ss"),
        "advisorNumber": forms.CharField(label="Advisor number", **_TEXT),
        "advisorName": forms.CharField(label="Advisor name", **_TEXT),
        "promisedDate": forms.CharField(label="Promised on", help_text="yyyy-MM-dd", **_TEXT),
        "promisedTime": forms.CharField(label="at", help_text="HH:mm:ss", **_TEXT),
        "mileageIn": forms.CharField(label="Mileage in", **_TEXT),
        "mileageOut": forms.CharField(label="Mileage out", **_TEXT),
        "description": forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 2}), **_TEXT),
    }


HEADER_NAMES = tuple(_header_fields())
# Totals the form shows (computed from the lines unless the partner gave them).
TOTAL_NAMES = ("laborSale", "partsSale", "miscSale", "lubeSale", "subletSale", "soldHours", "actualHours", "partsCost")


class JobForm(forms.Form):
    """One job: its number, labour operation and the customer's complaint, cause and correction."""

    jobNumberString = forms.CharField(label="Job", max_length=50, required=False)
    laborOpCode = forms.CharField(label="Labour op", max_length=50, required=False)
    laborOpCodeDesc = forms.CharField(label="Description", required=False)
    laborType = forms.CharField(label="Type", max_length=50, required=False, help_text="C, W or I")
    laborSale = forms.CharField(label="Labour sale", required=False)
    complaint = forms.CharField(label="Complaint", required=False, widget=forms.Textarea(attrs={"rows": 1}))
    cause = forms.CharField(label="Cause", required=False, widget=forms.Textarea(attrs={"rows": 1}))
    correction = forms.CharField(label="Correction", required=False, widget=forms.Textarea(attrs={"rows": 1}))


class PartLineForm(forms.Form):
    """One part line of a job (lines a service package brought are re-derived, so not edited here)."""

    partNumber = forms.CharField(label="Part number", max_length=50, required=False)
    description = forms.CharField(label="Description", required=False)
    quantityOrdered = forms.CharField(label="Quantity", required=False)
    salePrice = forms.CharField(label="Unit price", required=False)


JOB_FIELDS = tuple(JobForm.base_fields)
CCC_FIELDS = ("complaint", "cause", "correction")
PART_FIELDS = tuple(PartLineForm.base_fields)
JobFormSet = forms.formset_factory(JobForm, extra=1, can_delete=True)
PartLineFormSet = forms.formset_factory(PartLineForm, extra=1, can_delete=True)

_JOB_PATH = re.compile(r"^order\.jobs\[(\d+)\](?:\.ccc)?\.(\w+)")
_PART_PATH = re.compile(r"^order\.jobs\[(\d+)\]\.parts\[(\d+)\]\.(\w+)")
_HEADER_PATH = re.compile(r"^order\.header\.(\w+)")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _put(target: dict[str, Any], key: str, value: str) -> None:
    """Set a field of the body from the form: an emptied field leaves the body."""
    if value.strip() == "":
        target.pop(key, None)
    else:
        target[key] = value


class JobBlock:
    """One job on the form: its own fields, its editable part lines, and the lines shown as they are."""

    def __init__(self, index: int, job: dict[str, Any], data: Any, editable: bool) -> None:
        self.index = index
        self.job = job
        self.package_parts = [part for part in job.get("parts", ()) if part.get("packageCode")]
        self.own_parts = [part for part in job.get("parts", ()) if not part.get("packageCode")]
        initial = [{name: _text(part.get(name)) for name in PART_FIELDS} for part in self.own_parts]
        self.parts = PartLineFormSet(data if editable else None, prefix=f"jobs-{index}-parts", initial=initial)
        self.other_lines = _other_lines(job)


def _other_lines(job: dict[str, Any]) -> list[dict[str, str]]:
    """The lines of a job the form shows but does not edit, one row each: kind, code, text, amount."""
    rows = []
    for use in job.get("packages", ()):
        rows.append(_row("Package", use.get("packageCode"), use.get("description"), use.get("price")))
    for labour in job.get("labour", ()):
        rows.append(_row("Package labour", labour.get("laborOpCode"), labour.get("laborOpCodeDesc"), None))
    for part in job.get("parts", ()):
        if part.get("packageCode"):
            rows.append(
                _row("Package part", part.get("partNumber"), part.get("description"), part.get("quantityOrdered"))
            )
    for gog in job.get("gog", ()):
        rows.append(_row("Gas, oil, grease", gog.get("itemType"), gog.get("itemDescription"), gog.get("saleTotal")))
    for tech in job.get("techHours", ()):
        rows.append(_row("Technician hours", tech.get("techNo"), tech.get("soldHours"), tech.get("laborSale")))
    for comment in job.get("comments", ()):
        rows.append(_row("Comment", comment.get("lastUpdatedBy"), comment.get("comment"), None))
    for mls in job.get("mls", ()):
        rows.append(
            _row(
                mls.get("mlsType") or "Misc",
                mls.get("opCode"),
                mls.get("description") or mls.get("opCodeDesc"),
                mls.get("salePrice"),
            )
        )
    return rows


def _row(kind: str, code: Any, text: Any, amount: Any) -> dict[str, str]:
    return {"kind": kind, "code": _text(code), "text": _text(text), "amount": _text(amount)}


class RepairOrderForm(forms.ModelForm):
    """The change form of a repair order (see the module's docstring); ``validated`` is set once it is valid."""

    version = forms.IntegerField(widget=forms.HiddenInput, help_text="the version this form was opened at")

    class Meta:
        model = RepairOrder
        fields = ("customer", "vehicle")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validated: ValidatedOrder | None = None
        self.warnings: list[str] = []
        for name, field in _header_fields().items():
            self.fields.setdefault(name, field)
        order = self.document
        header = order.get("header", {})
        for name in HEADER_NAMES:
            self.initial.setdefault(name, _text(header.get(name)))
        self.initial.setdefault("version", self.instance.version)
        editable = self.is_bound
        jobs = order.get("jobs", [])
        self.jobs = JobFormSet(
            self.data if editable else None,
            prefix="jobs",
            initial=[_job_initial(job) for job in jobs],
        )
        self.job_blocks = [JobBlock(index, job, self.data, editable) for index, job in enumerate(jobs)]
        # the blank job at the end (a new one) gets a parts formset too
        self.new_job_parts = PartLineFormSet(self.data if editable else None, prefix=f"jobs-{len(jobs)}-parts")
        if "vehicle" in self.fields:
            self.fields["vehicle"].required = False

    @property
    def document(self) -> dict[str, Any]:
        return self.instance.document or {}

    @property
    def job_rows(self) -> list[tuple[forms.Form, JobBlock | None, Any]]:
        """Each job's form with its block (None and the parts formset for the new job), for the template."""
        rows: list[tuple[forms.Form, JobBlock | None, Any]] = []
        for index, job_form in enumerate(self.jobs.forms):
            block = self.job_blocks[index] if index < len(self.job_blocks) else None
            rows.append((job_form, block, block.parts if block else self.new_job_parts))
        return rows

    def totals(self) -> list[tuple[str, str]]:
        header = self.document.get("header", {})
        return [(name, _text(header.get(name))) for name in TOTAL_NAMES if name in header]

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self._errors:  # type: ignore[attr-defined]  # set by full_clean
            self._validate_order()

    def _subforms_valid(self) -> bool:
        valid = self.jobs.is_valid()
        for block in self.job_blocks:
            valid = block.parts.is_valid() and valid
        return self.new_job_parts.is_valid() and valid

    def _validate_order(self) -> None:
        if not self._subforms_valid():
            self.add_error(None, "Please correct the errors in the jobs below.")
            return
        current = RepairOrder.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
        opened_at = self.cleaned_data["version"]
        if current != opened_at:
            self.add_error(
                None,
                f"This order changed since you opened it (you edited version {opened_at}, it is now at version "
                f"{current}). Nothing was saved: reload the order and make your change again.",
            )
            return
        body, self._paths = self._body()
        try:
            self.validated = validate_repair_order(body, department=self.instance.department, existing=self.instance)
        except DomainError as error:
            for problem in error.problems:
                self._place(problem)
            return
        self.warnings = [warning.description for warning in self.validated.warnings]

    def _body(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The request body this form stands for, and where each body path's problems go on the form."""
        order = copy.deepcopy(self.document)
        order.pop("orderUUID", None)
        header = order.setdefault("header", {})
        _drop_derived_totals(order)
        for name in HEADER_NAMES:
            _put(header, name, self.cleaned_data.get(name) or "")
        customer = self.cleaned_data.get("customer")
        order["customer"] = {"uuid": str(customer.uuid)} if customer else {}
        vehicle = self.cleaned_data.get("vehicle")
        if vehicle is not None:
            order["vehicle"] = {"uuid": str(vehicle.uuid)}
        else:
            order.pop("vehicle", None)
        paths: dict[str, Any] = {}
        old_jobs = order.get("jobs", [])
        jobs: list[dict[str, Any]] = []
        for index, (job_form, block, parts_formset) in enumerate(self.job_rows):
            if block is None and not job_form.has_changed():
                continue  # the blank new job, left blank
            if job_form.cleaned_data.get("DELETE"):
                continue
            job = copy.deepcopy(old_jobs[index]) if block is not None else {}
            for name in JOB_FIELDS:
                value = job_form.cleaned_data.get(name) or ""
                if name in CCC_FIELDS:
                    ccc = job.setdefault("ccc", {})
                    _put(ccc, name, value)
                else:
                    _put(job, name, value)
            if not job.get("ccc"):
                job.pop("ccc", None)
            parts = list(block.package_parts) if block else []
            for part_index, part_form in enumerate(parts_formset.forms):
                own = block.own_parts[part_index] if block and part_index < len(block.own_parts) else None
                if own is None and not part_form.has_changed():
                    continue
                if part_form.cleaned_data.get("DELETE"):
                    continue
                part = copy.deepcopy(own) if own else {}
                for name in PART_FIELDS:
                    _put(part, name, part_form.cleaned_data.get(name) or "")
                paths[f"jobs[{len(jobs)}].parts[{len(parts)}]"] = part_form
                parts.append(part)
            if parts:
                job["parts"] = parts
            else:
                job.pop("parts", None)
            paths[f"jobs[{len(jobs)}]"] = job_form
            jobs.append(job)
        if jobs:
            order["jobs"] = jobs
        else:
            order.pop("jobs", None)
        return {"order": order}, paths

    def _place(self, problem: Problem) -> None:
        """Put a rule's problem on the field it names, else on top of the form."""
        path = problem.field or problem.description.split(" ")[0]
        if path.startswith("order.customer"):
            self.add_error("customer" if "customer" in self.fields else None, problem.description)
            return
        if path.startswith("order.vehicle"):
            self.add_error("vehicle" if "vehicle" in self.fields else None, problem.description)
            return
        header = _HEADER_PATH.match(path)
        if header and header.group(1) in self.fields:
            self.add_error(header.group(1), problem.description)
            return
        part = _PART_PATH.match(path)
        if part:
            form = self._paths.get(f"jobs[{part.group(1)}].parts[{part.group(2)}]")
            if form is not None and part.group(3) in form.fields:
                form.add_error(part.group(3), problem.description)
                self.add_error(None, problem.description)
                return
        job = _JOB_PATH.match(path)
        if job:
            form = self._paths.get(f"jobs[{job.group(1)}]")
            if form is not None and job.group(2) in form.fields:
                form.add_error(job.group(2), problem.description)
                self.add_error(None, problem.description)
                return
        self.add_error(None, problem.description)

    @property
    def problems_on_top(self) -> list[str]:
        return [str(problem) for problem in self.errors.get(NON_FIELD_ERRORS, [])]


def _job_initial(job: dict[str, Any]) -> dict[str, str]:
    ccc = job.get("ccc", {})
    return {name: _text(ccc.get(name) if name in CCC_FIELDS else job.get(name)) for name in JOB_FIELDS}


def _drop_derived_totals(order: dict[str, Any]) -> None:
    """Drop the header totals that were computed from the lines (they equal what the lines add up to), so
    they are computed again from the edited lines; totals a partner gave that differ are kept (and warned
    about, as the API does)."""
    try:
        normalised = repair_order_fields({"order": copy.deepcopy(order)}).order
    except DomainError:
        return
    header = order.get("header", {})
    for name, total in computed_totals(normalised).items():
        if name in header and normalised.get("header", {}).get(name) == total:
            header.pop(name)
