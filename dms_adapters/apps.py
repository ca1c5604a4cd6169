from django.apps import AppConfig


class DmsAdaptersConfig(AppConfig):
    name = "dms_adapters"
    verbose_name = "DMS adapters"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
