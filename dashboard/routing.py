from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from dashboard.consumers import GuildLiveConsumer

# the browser's session cookie (AuthMiddlewareStack), and only from our own pages' origin
websocket_urlpatterns = [
    path(
        "ws/guilds/<str:guild_id>/live/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(GuildLiveConsumer.as_asgi())),
    )
]
