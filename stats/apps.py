from django.apps import AppConfig
from django.db.backends.signals import connection_created


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = "Statistics"

    def ready(self) -> None:
        # import the services so every staging table is registered before connections open
        from stats.services import counting, ingest, voice  # noqa: F401
        from stats.sql import create_stages

        connection_created.connect(create_stages, dispatch_uid="stats.create_stages")
