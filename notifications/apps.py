from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Change notifications"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()

    def seed_demo(self, demo: object) -> None:
        from .demo import seed_demo

        seed_demo(demo)  # type: ignore[arg-type]
