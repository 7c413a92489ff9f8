"""The collector's own test harness (``collector/tests``): the server-side tests here drive the
real collector through it."""

from collector.tests.conftest import frozen, gateway  # noqa: F401 - fixtures
