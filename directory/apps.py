from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """A guild's names: channels, roles, emojis, members (and role history)."""

    name = "directory"
    verbose_name = "Directory"

    def ready(self) -> None:
        from guildstats_contract.events import DIRECTORY_TYPES, MEMBER_TYPES

        from core.registry import registry
        from directory.services.apply import apply_directory_events
        from directory.services.erase import erase_member_names

        # after the guild rows (10); moderation (20) and invites (30) read no name from here
        registry.register(
            "directory.names",
            DIRECTORY_TYPES | MEMBER_TYPES,
            apply_directory_events,
            order=15,
            # a channel's delete names it in channelId; everything else is read from data
            reads_data=(DIRECTORY_TYPES - {"CHANNEL_DELETE", "THREAD_DELETE"})
            | {"GUILD_MEMBER_ADD"},
        )
        registry.on_erase("directory", erase_member_names)
