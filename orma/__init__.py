"""OrMa project package: settings, URLs, Celery app and the shared API plumbing."""

from .celery import app as celery_app

__all__ = ["celery_app"]
