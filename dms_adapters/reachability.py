"""Is a dealer's DMS reachable? (``orma_check``; the adapters' own pushes live beside this.)"""

from __future__ import annotations

import requests

from orders.choices import DmsKind
from orders.models import Dealer

TIMEOUT_SECONDS = 3


def dms_status(dealer: Dealer) -> str:
    """ "ok" (sandbox, or the DMS answered HTTP at all), or "down: <reason>"."""
    if dealer.dms_kind == DmsKind.SANDBOX:
        return "ok"
    if not dealer.dms_base_url:
        return "down: no base URL configured"
    try:
        # Any HTTP answer, even 401/404, means the DMS is there; only no answer is "down".
        response = requests.head(dealer.dms_base_url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        return f"down: {type(exc).__name__}"
    if response.status_code >= 500:
        return f"down: HTTP {response.status_code}"
    return "ok"
