"""JSON parsing that never answers 500: deep nesting, bad encodings, NUL characters and lone surrogates are
malformed JSON (400).

JSON may escape NUL (``\\u0000``) and half a surrogate pair (``\\ud800``); Python decodes both. PostgreSQL
stores neither in text or jsonb, and no UTF-8 encoder writes a lone surrogate, so such a string once
answered 500 (on saving, or on echoing it back in a 400). They are refused here, for the bodies of the parts and
notification families, before any serializer sees them; seed 001's family checks each field itself.
"""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .errors import Family, family_for_path


def _is_clean(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def hostile_string_path(document: Any) -> str | None:
    """The path of the first string (key or value) holding NUL or a lone surrogate, or None."""
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if not _is_clean(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if not _is_clean(key):
                    return f"{path}.<key>" if path else "<key>"
                pending.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


class HostileString(ParseError):
    """A string of the body holds NUL or a lone surrogate; ``path`` names where."""

    def __init__(self, path: str) -> None:
        self.hostile_path = path.encode("ascii", "backslashreplace").decode()[:200]  # built from the body's own keys
        super().__init__(f"{self.hostile_path}: strings must not contain NUL characters or lone surrogates")


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply") from None
        request = (parser_context or {}).get("request")
        if request is not None and family_for_path(request.path) is Family.ORDERS:
            # seed 001's family checks every field itself (FIELD_INVALID at the field's path) and quotes
            # unknown field names of any bytes in its warning 1004 (orders.validation, orders.body)
            return document
        path = hostile_string_path(document)
        if path is not None:
            raise HostileString(path)
        return document
