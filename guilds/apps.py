from django.apps import AppConfig


class GuildsConfig(AppConfig):
    name = "guilds"
    verbose_name = "Guilds"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in

        from guilds.signals import refresh_guild_access

        user_logged_in.connect(refresh_guild_access, dispatch_uid="guilds.refresh_guild_access")
