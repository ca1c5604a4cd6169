"""OrMa's URLs: the three API families, the schema and docs, health, and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from orma.api.views import SchemaDocsView, SchemaView, healthz, readyz
from orma.front import front_door

urlpatterns = [
    path("", front_door, name="front-door"),  # experience (issue 13): the front door
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/schema/", SchemaView.as_view(), name="schema"),  # built once per process, throttled (hardening)
    path("api/docs/", SchemaDocsView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("order/v2/department/<uuid:departmentUUID>/", include("orders.api.urls")),
    path("parts-api/<uuid:enterpriseId>/<uuid:storeId>/v1/", include("parts.api.urls")),
    # notifications (issue 10)
    path("notification/v1/", include("notifications.api.urls")),
]

if settings.ORMA_WEBHOOK_ALLOW_PRIVATE:  # development (make run): the demo subscription's endpoint
    from notifications.demo import DEMO_RECEIVER_PATH, demo_receiver

    urlpatterns.append(path(DEMO_RECEIVER_PATH.lstrip("/"), demo_receiver, name="demo-webhook-receiver"))
