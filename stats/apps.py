from django.apps import AppConfig
from django.core import checks
from django.db.backends.signals import connection_created


def handlers_registered(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    """A system check, run once every app's ready() has registered its handlers."""
    from core.registry import RegistryError, registry

    try:
        registry.check_complete()
    except RegistryError as exc:
        return [checks.Error(str(exc), id="guildstats.E001")]
    return []


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = "Statistics"

    def ready(self) -> None:
        from guildstats_contract.events import SNAPSHOT_TYPES, STATE_TYPES, VOICE_TYPES

        from core.registry import registry
        from stats.processing.activity import apply_message_events, apply_reaction_events
        from stats.processing.rules import CONTEXT as COUNTING
        from stats.processing.rules import chunk_deltas
        from stats.processing.snapshots import apply_snapshot_events
        from stats.processing.voice import apply_voice_events
        from stats.rollups.fill import mark_stale_buckets

        # counting handlers share the chunk's counter deltas (stats.processing.rules: the
        # counting rules in one place). Bot snapshots first: they decide since when raw
        # activity of their guild stops counting.
        registry.on_context(COUNTING, chunk_deltas)
        registry.register(
            "stats.snapshots",
            SNAPSHOT_TYPES,
            apply_snapshot_events,
            order=40,
            reads_data=True,
            context=COUNTING,
        )
        registry.register(
            "stats.messages", {"MESSAGE_CREATE"}, apply_message_events, order=50, context=COUNTING
        )
        registry.register(
            "stats.reactions",
            {"MESSAGE_REACTION_ADD"},
            apply_reaction_events,
            order=50,
            reads_data=True,
            context=COUNTING,
        )
        registry.register(
            "stats.voice",
            VOICE_TYPES | STATE_TYPES,  # GUILD_STATE: the voice roster
            apply_voice_events,
            order=50,
            reads_data={"VOICE_CHANNEL_MOVE"} | STATE_TYPES,
            context=COUNTING,
        )
        from stats.ingest.frames import connect_processing
        from stats.tasks import process_batches

        connect_processing(lambda ids: process_batches.delay(ids))  # on commit, batch ids only
        # late events change buckets already filled: the rollups mark them for a refill
        registry.on_chunk("rollups.stale_buckets", mark_stale_buckets)
        checks.register(handlers_registered)

        # import the services so every staging table is registered before connections open
        from core.sql import create_stages
        from stats.ingest import frames  # noqa: F401
        from stats.processing import counting, voice  # noqa: F401

        connection_created.connect(create_stages, dispatch_uid="stats.create_stages")
