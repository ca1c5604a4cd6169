from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Dealers and partners"

    def ready(self) -> None:
        from . import signals  # noqa: F401

    def seed_demo(self, demo: object) -> None:
        from .demo import seed_demo

        seed_demo(demo)  # type: ignore[arg-type]
