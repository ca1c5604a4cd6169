from django.apps import AppConfig


class PartsConfig(AppConfig):
    name = "parts"
    verbose_name = "Parts"

    def seed_demo(self, demo: object) -> None:
        from .demo import seed_demo

        seed_demo(demo)  # type: ignore[arg-type]
