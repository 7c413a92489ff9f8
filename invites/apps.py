from django.apps import AppConfig


class InvitesConfig(AppConfig):
    name = "invites"
    verbose_name = "Invites"

    def ready(self) -> None:
        from guildstats_contract.events import INVITE_TYPES, MEMBER_TYPES, STATE_TYPES

        from core.registry import registry
        from invites.services.joins import apply_invite_events

        # invites, joins and leaves, after moderation (a kick is both a case and a leave)
        registry.register(
            "invites.joins",
            INVITE_TYPES | MEMBER_TYPES | STATE_TYPES,  # GUILD_STATE: the invite list
            apply_invite_events,
            order=30,
            reads_data=True,
        )
        from invites.selectors import with_first_join
        from invites.services.erase import erase_member_invites

        registry.on_erase("invites", erase_member_invites)
        registry.on_member_rows("invites.first_join", with_first_join)
