from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Repair orders"

    def seed_demo(self, demo: object) -> None:
        from .demo import seed_demo

        seed_demo(demo)  # type: ignore[arg-type]
