from django.apps import AppConfig


class DmsAdaptersConfig(AppConfig):
    name = "dms_adapters"
