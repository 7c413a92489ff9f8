from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.backends.signals import connection_created


def handlers_registered(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """A system check, run once every app's ready() has registered its handlers."""
    from core.registry import RegistryError, registry

    try:
        registry.check_complete()
    except RegistryError as exc:
        return [checks.Error(str(exc), id="guildstats.E001")]
    return []


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        from core.registry import registry
        from core.sql import create_stages
        from pipeline import ingest
        from pipeline.erase import erase_member_events, shard_transaction
        from pipeline.tasks import process_batches

        ingest.connect_processing(lambda ids: process_batches.delay(ids))  # on commit, ids only
        checks.register(handlers_registered)
        # privacy's erase runs in one transaction under the guild's shard lock
        registry.on_erase_scope("pipeline.shard", shard_transaction, order=10)
        registry.on_erase("pipeline", erase_member_events)
        connection_created.connect(create_stages, dispatch_uid="core.create_stages")
