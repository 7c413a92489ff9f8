"""The API's rate limit: a counter per caller and time window.

DRF's ``UserRateThrottle`` keeps the list of a caller's request times in the cache and reads and
rewrites the whole list on every request: at 600/min that is up to 600 floats unpickled and
pickled again per call, and a benchmark run at a high rate made it thousands. Here each caller
has one integer per window (``incr``; the window's first request ``add``s it with the window's
lifetime). The price is the fixed window's: a caller may spend a window's budget at its end and
the next one's at the start of the next, twice the rate for a moment — a limit that protects
the database from one noisy caller allows that. Like DRF's, it fails open when the cache is down
(``config.cache`` turns a failed ``add`` into False and ``incr`` into a missing key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.throttling import UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_THROTTLE_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView


class CountingRateThrottle(UserRateThrottle):
    scope = "user"
    # set from the rate by SimpleRateThrottle.__init__ (DRF's stubs omit them)
    num_requests: int
    duration: int
    wait_seconds: float  # set by allow_request for wait()

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        counter = f"{key}:{window}"
        try:
            count = self.cache.incr(counter)
        except ValueError:  # the window's first request (or the cache is down: fail open)
            count = 1 if self.cache.add(counter, 1, self.duration + 1) else self._incr(counter)
        self.wait_seconds = (window + 1) * self.duration - now
        return count <= self.num_requests

    def _incr(self, counter: str) -> int:
        try:
            return self.cache.incr(counter)  # another request added it first
        except ValueError:
            return 1  # the cache is down

    def wait(self) -> float:
        return self.wait_seconds
