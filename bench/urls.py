"""The benchmark URLconf: OrMa's own URLs plus two trivial views that differ only in authentication.

``/bench/bare`` is a DRF view with no authentication, permission or throttle at all; ``/bench/auth`` is
a :class:`~orma.api.views.PartnerAPIView` with OrMa's full partner plumbing (HTTP Basic against HMAC
secrets, the lockout check, the per-partner rate limit and ``DepartmentScopePermission``, which passes
without a department in the path and without required scopes). Both answer the same body, and both go
through the same middleware, so the difference in throughput is the cost of authentication.
"""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orma.api.views import PartnerAPIView
from orma.urls import urlpatterns as orma_urlpatterns

BODY = {"ok": True}


class BareView(APIView):
    """The same DRF view without any authentication, permission or throttle."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response(BODY)


class AuthView(PartnerAPIView):
    """OrMa's full partner plumbing (the REST_FRAMEWORK defaults) in front of a trivial answer."""

    def get(self, request: Request) -> Response:
        return Response(BODY)


urlpatterns = [
    path("bench/bare", BareView.as_view(), name="bench-bare"),
    path("bench/auth", AuthView.as_view(), name="bench-auth"),
    *orma_urlpatterns,
]
