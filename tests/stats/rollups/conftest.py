"""The activity the snapshot tests (``test_rollup_*.py``) fill from: messages (one a bot's), a
reaction and a voice session 10:50-12:20, sent at 12:30."""

from __future__ import annotations

import pytest

# the helpers assert: rewritten by pytest, as the test modules are
pytest.register_assert_rewrite("tests.stats.rollups.helpers")

from tests.factories import message, reaction, voice_join, voice_leave  # noqa: E402
from tests.stats.rollups.helpers import ALICE, BOB, BOT, CAROL, TEXT, VOICE, G, at, send  # noqa: E402


@pytest.fixture
def activity(ingest):
    send(
        ingest,
        [
            message(G, ALICE, TEXT, at(1)),
            message(G, ALICE, TEXT, at(2)),
            message(G, BOT, TEXT, at(3), data={"bot": True}),
            message(G, BOB, TEXT, at(7)),
            reaction(G, BOB, ALICE, at(8), channel=TEXT, emoji="🎉"),
            voice_join(G, CAROL, VOICE, at(50)),
            voice_leave(G, CAROL, VOICE, at(140)),
        ],
        150,
    )
