"""The yardstick's only view: a DRF APIView with the framework's defaults."""

from rest_framework.response import Response
from rest_framework.views import APIView


class BareView(APIView):
    """``{"ok": true}``, with DRF's default authentication, permission and renderer classes."""

    def get(self, request):
        """Answer the fixed body."""
        return Response({"ok": True})
