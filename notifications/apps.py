from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Change notifications"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
