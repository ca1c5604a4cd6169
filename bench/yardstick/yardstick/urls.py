"""URL configuration for yardstick project: the one bare DRF view."""

from django.urls import path

from yardstick.views import BareView

urlpatterns = [
    path("bare", BareView.as_view()),
]
