from django.apps import AppConfig


class OrmaConfig(AppConfig):
    name = "orma"
    verbose_name = "OrMa"
