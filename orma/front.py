"""The front door (``/``): what a partner's developer or a support engineer opening OrMa's address meets.

A small HTML page linking the API docs, the schema, the admin and the health checks; a client that asks
for JSON (``Accept: application/json``) gets the same links as JSON. No login, no data: nothing here
tells more than the links themselves.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_safe

# (key, URL name, what a visitor finds there)
LINKS = (
    ("docs", "docs", "API docs (Swagger UI): every operation with its examples, errors and warnings"),
    ("schema", "schema", "the OpenAPI 3 schema (YAML; ?format=json for JSON)"),
    ("admin", "admin:index", "the back office for dealer staff"),
    ("health", "healthz", "the process is up"),
    ("ready", "readyz", "the database and the broker are reachable"),
)

FAMILIES = (
    ("repair orders (seed 001)", "/order/v2/department/{departmentUUID}/order"),
    ("parts (seeds 002, 003)", "/parts-api/{enterpriseId}/{storeId}/v1/parts"),
    ("notifications", "/notification/v1/subscription"),
)


def _wants_json(request: HttpRequest) -> bool:
    accepted = request.headers.get("Accept", "")
    return "json" in accepted and "text/html" not in accepted


@require_safe
def front_door(request: HttpRequest) -> HttpResponse:
    """``/``: links to the docs, the schema, the admin and the health checks (HTML, or JSON when asked)."""
    links = {key: request.build_absolute_uri(reverse(name)) for key, name, _ in LINKS}
    if _wants_json(request):
        return JsonResponse({"name": "OrMa", "links": links, "apis": dict(FAMILIES)})
    items = format_html_join(
        "\n", '<li><a href="{}">{}</a>: {}</li>', ((links[key], key, text) for key, _, text in LINKS)
    )
    apis = format_html_join("\n", "<li>{}: <code>{}</code></li>", FAMILIES)
    page = format_html(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>OrMa</title>"
        "<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;line-height:1.5}}"
        "code{{background:#f3f3f3;padding:0 .2rem}}</style></head><body>"
        "<h1>OrMa</h1><p>The order-management hub between a dealership's partners and its DMS.</p>"
        "<ul>{}</ul><h2>APIs</h2><ul>{}</ul>"
        "<p>Partners authenticate with HTTP Basic (username and the secret OrMa issued).</p></body></html>",
        items,
        apis,
    )
    return HttpResponse(page)
