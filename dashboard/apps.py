from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from core.registry import registry
        from dashboard.live import on_chunk
        from dashboard.models import GuildPageSettings
        from dashboard.signals import forget_page_settings, record_memberships

        # after each chunk commits: push to the guilds' open dashboards
        registry.on_chunk("dashboard.live", on_chunk)
        user_logged_in.connect(record_memberships, dispatch_uid="dashboard.memberships")
        post_save.connect(forget_page_settings, sender=GuildPageSettings, dispatch_uid="dash.s")
        post_delete.connect(forget_page_settings, sender=GuildPageSettings, dispatch_uid="dash.d")
