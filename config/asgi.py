"""ASGI entry point: HTTP goes to Django, ``/ws/bot/`` to the ingest consumer,
``/ws/guilds/<id>/live/`` to the dashboards' live updates."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from dashboard.routing import websocket_urlpatterns as dashboard_sockets  # noqa: E402
from stats.consumers import BotIngestConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("ws/bot/", BotIngestConsumer.as_asgi()), *dashboard_sockets]),
    }
)
