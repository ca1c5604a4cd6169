"""A URLconf for the plumbing tests: OrMa's own URLs plus one trivial view per API family.

The foundation's auth, authorisation, throttling and error plumbing are shared by every real endpoint;
these probes exercise exactly that plumbing and nothing else.
"""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from orma.api.views import PartnerAPIView
from orma.urls import urlpatterns as orma_urlpatterns


class OrderProbe(PartnerAPIView):
    required_scopes = {"GET": "order.read", "PUT": "order.create"}

    def get(self, request: Request, departmentUUID) -> Response:
        return Response({"department": str(request.grant.department.uuid), "partner": request.user.username})

    def put(self, request: Request, departmentUUID) -> Response:
        return Response({"echo": request.data})


class PartsProbe(PartnerAPIView):
    required_scopes = {"GET": "parts.read", "POST": "parts.order"}

    def get(self, request: Request, enterpriseId, storeId) -> Response:
        return Response({"store": str(request.grant.department.uuid)})

    def post(self, request: Request, enterpriseId, storeId) -> Response:
        return Response({"echo": request.data})


class NotificationProbe(PartnerAPIView):
    required_scopes = {"GET": "notification.manage", "POST": "notification.manage"}

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response({"echo": request.data})


class Boom(PartnerAPIView):
    def get(self, request: Request, departmentUUID) -> Response:
        raise RuntimeError("a bug")


urlpatterns = [
    path("order/v2/department/<uuid:departmentUUID>/probe", OrderProbe.as_view()),
    path("order/v2/department/<uuid:departmentUUID>/boom", Boom.as_view()),
    path("parts-api/<uuid:enterpriseId>/<uuid:storeId>/v1/probe", PartsProbe.as_view()),
    path("notification/v1/probe", NotificationProbe.as_view()),
    *orma_urlpatterns,
]
