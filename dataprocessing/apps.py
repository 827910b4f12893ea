from django.apps import AppConfig


class DataprocessingConfig(AppConfig):
    name = "dataprocessing"
    verbose_name = "Data processing"
