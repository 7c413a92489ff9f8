from django.apps import AppConfig


class OpsConfig(AppConfig):
    """/health, /metrics and the workers' heartbeat."""

    name = "ops"
    verbose_name = "Operations"
