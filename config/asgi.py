"""ASGI entry point: HTTP goes to Django, ``/ws/bot/`` to the ingest consumer,
``/ws/guilds/<id>/live/`` to the dashboards' live updates."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application does

from config.handler import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from dashboard.routing import websocket_urlpatterns as dashboard_sockets  # noqa: E402
from pipeline.consumers import BotIngestConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("ws/bot/", BotIngestConsumer.as_asgi()), *dashboard_sockets]),
    }
)
