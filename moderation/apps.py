from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from guildstats_contract.events import MODERATION_TYPES

        from core.registry import registry
        from moderation.services.cases import apply_moderation_events

        # cases commit with the counters, after the guild registry (order 10)
        registry.register(
            "moderation.cases",
            MODERATION_TYPES,
            apply_moderation_events,
            order=20,
            reads_data=True,
        )
        from moderation.services.erase import erase_member_cases

        # erasing a member scrubs them from the cases (privacy.services.erase calls it)
        registry.on_erase("moderation", erase_member_cases)
