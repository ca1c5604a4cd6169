"""VIN syntax and brand, from ``vininfo``'s WMI tables (European VINs carry no check digit, so none is
enforced)."""

from __future__ import annotations

from typing import Any

from vininfo import Vin
from vininfo.exceptions import ValidationError as VinValidationError

from orma.errors import ErrorCode

from .fields import FieldRuleError, value_rule

# vininfo's manufacturer names -> OrMa's brand codes (choices.Brand). SEAT's WMI covers CUPRA too.
_BRAND_BY_MANUFACTURER = {
    "Volkswagen": "VW",
    "Volkswagen Commercial Vehicles": "VWN",
    "Audi": "AUDI",
    "Quattro": "AUDI",
    "Škoda": "SKODA",
    "SEAT": "SEAT",
    "Cupra": "CUPRA",
}


# 17 characters, no I, O or Q (either case): the schema's spelling of what vininfo checks
VIN_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"


@value_rule(pattern=VIN_PATTERN, example="WVWZZZ1JZXW000001", is_text=True)
def normalise_vin(raw: Any) -> str:
    """The VIN upper-cased and checked (17 characters, no I, O or Q); FieldRuleError otherwise."""
    if not isinstance(raw, str):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be a string of 17 characters")
    vin = raw.upper()
    try:
        Vin(vin)
    except VinValidationError as error:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"is not a valid VIN: {error}") from None
    return vin


def vin_brand(vin: str) -> str | None:
    """OrMa's brand code for a VIN's manufacturer, or None for a manufacturer outside seed 000's brands."""
    return _BRAND_BY_MANUFACTURER.get(Vin(vin).manufacturer)


def serviced_brand(vin: str, dealer_brands: list[str]) -> str:
    """The VIN's brand when the dealer services it; FieldRuleError otherwise (SEAT VINs serve CUPRA too)."""
    brand = vin_brand(vin)
    if brand is None:
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f"is a VIN of {Vin(vin).manufacturer}, a brand OrMa does not serve"
        )
    if brand in dealer_brands or (brand == "SEAT" and "CUPRA" in dealer_brands):
        return brand if brand in dealer_brands else "CUPRA"
    raise FieldRuleError(ErrorCode.FIELD_INVALID, f"is a VIN of brand {brand}, which this dealer does not service")
