from django.apps import AppConfig


class OrmaConfig(AppConfig):
    name = "orma"
    verbose_name = "OrMa"

    def ready(self) -> None:
        from .api import schema  # noqa: F401  (registers the OpenAPI authentication extension)
