from django.apps import AppConfig
from django.db.backends.signals import connection_created


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = "Statistics"

    def ready(self) -> None:
        from guildstats_contract.events import SNAPSHOT_TYPES, STATE_TYPES, VOICE_TYPES

        from core.registry import registry
        from stats.rollups.fill import mark_stale_buckets
        from stats.services.activity import apply_message_events, apply_reaction_events
        from stats.services.rules import CONTEXT as COUNTING
        from stats.services.rules import chunk_deltas
        from stats.services.snapshots import apply_snapshot_events
        from stats.services.voice import apply_voice_events

        # counting handlers share the chunk's counter deltas (stats.services.rules: the
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
        # late events change buckets already filled: the rollups mark them for a refill
        registry.on_chunk("rollups.stale_buckets", mark_stale_buckets)
        # privacy's erase: the rollups' lock outermost, the recomputation innermost (the
        # pipeline's transaction is order 10, the audit 20: privacy.services.erase)
        from stats.erase import erase_member_activity, recompute, rollup_lock

        registry.on_erase_scope("stats.rollup_lock", rollup_lock, order=0)
        registry.on_erase_scope("stats.recompute", recompute, order=30)
        registry.on_erase("stats", erase_member_activity)

        # import the services so every staging table is registered before connections open
        from core.sql import create_stages
        from stats.services import counting, voice  # noqa: F401

        connection_created.connect(create_stages, dispatch_uid="core.create_stages")
