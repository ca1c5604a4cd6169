from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and tenancy"

    def ready(self) -> None:
        from . import signals  # noqa: F401
