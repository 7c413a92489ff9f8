from django.apps import AppConfig


class GuildsConfig(AppConfig):
    name = "guilds"
    verbose_name = "Guilds"

    def ready(self) -> None:
        from guildstats_contract.events import (
            COVERAGE_TYPES,
            GUILD_TYPES,
            MEMBER_TYPES,
            STATE_TYPES,
        )

        from core.registry import registry
        from guilds.coverage import apply_heartbeats
        from guilds.services import apply_guild_events, ensure_chunk_guilds, forget_guild_owner

        registry.before_chunk("guilds.rows", ensure_chunk_guilds)
        registry.on_erase("guilds", forget_guild_owner)
        # the registry, the member count (Discord's, kept current by joins and leaves)
        registry.register(
            "guilds.registry",
            GUILD_TYPES | STATE_TYPES | MEMBER_TYPES,
            apply_guild_events,
            order=10,
            reads_data=(GUILD_TYPES - {"GUILD_DELETE"}) | STATE_TYPES,
        )
        # collection windows from the collectors' heartbeats (guilds.coverage)
        registry.register(
            "guilds.coverage", COVERAGE_TYPES, apply_heartbeats, order=10, reads_data=True
        )

        from allauth.account.signals import user_logged_in
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from guilds.models import ApiKey, Guild
        from guilds.signals import (
            forget_api_key,
            forget_api_key_guilds,
            forget_guild,
            refresh_guild_access,
        )

        user_logged_in.connect(refresh_guild_access, dispatch_uid="guilds.refresh_guild_access")
        post_save.connect(forget_api_key, sender=ApiKey, dispatch_uid="guilds.key_saved")
        post_delete.connect(forget_api_key, sender=ApiKey, dispatch_uid="guilds.key_deleted")
        post_save.connect(forget_guild, sender=Guild, dispatch_uid="guilds.guild_saved")
        post_delete.connect(forget_guild, sender=Guild, dispatch_uid="guilds.guild_deleted")
        m2m_changed.connect(
            forget_api_key_guilds, sender=ApiKey.guilds.through, dispatch_uid="guilds.key_guilds"
        )
