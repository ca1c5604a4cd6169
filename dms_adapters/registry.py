"""Which adapter speaks to a dealer's DMS: one dotted path per ``DmsKind``, imported when first used."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from tenancy.choices import DmsKind

from .base import DmsAdapter

ADAPTERS: dict[str, str] = {
    DmsKind.SANDBOX: "dms_adapters.sandbox.SandboxAdapter",
    DmsKind.MYKAARMA: "dms_adapters.mykaarma.MyKaarmaAdapter",
    DmsKind.KEYLOOP: "dms_adapters.keyloop.KeyloopAdapter",
}


def adapter_for(dealer: Any) -> DmsAdapter:
    """The adapter of the dealer's DMS kind."""
    adapter_class: type[DmsAdapter] = import_string(ADAPTERS[dealer.dms_kind])
    return adapter_class(dealer)
