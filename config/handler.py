"""Django's ASGI handler with the middleware chain run synchronously, in one hop to a thread.

Every view of this project is synchronous (DRF, the dashboard's pages). Django's ASGI handler
builds the middleware chain in async mode: each ``MiddlewareMixin`` middleware then runs its
``process_request`` and ``process_response`` through ``sync_to_async`` (two thread hops each),
a sync-only middleware (WhiteNoise) turns the rest of the chain back into async with
``async_to_sync``, and the view is one more hop: 16 hops between the event loop and the
request's thread for a cached API answer, about half of its CPU time (profiled in process,
bench/api_bench.py). Here the chain is built as the WSGI handler builds it — the same
middleware in the same order, each one's sync code path — and the whole of it runs in one
``sync_to_async`` call, so a request moves to its thread once (plus Django's own hops for the
``request_started`` signal and ``response.close()``, unchanged). Requests still run concurrently
(one thread per request, Django's ``ThreadSensitiveContext``); an async view would still work
(Django adapts it with ``async_to_sync``) but there is none.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: Any) -> Any:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
