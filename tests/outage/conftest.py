"""The outage tests share one private stack (see ``stack.py``), started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.outage.stack import Stack, StackUnavailable


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    try:
        running = Stack()
    except StackUnavailable as exc:
        pytest.skip(str(exc))
    try:
        running.start()
    except Exception as exc:
        logs = "\n".join(
            f"--- {name} ---\n{running.tail(name)}" for name in ("web", "worker", "beat")
        )
        running.close()
        pytest.fail(f"the outage stack did not start: {exc}\n{logs}")
    except BaseException:
        running.close()
        raise
    try:
        yield running
    finally:
        running.close()
