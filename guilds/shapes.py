"""The guilds app's part of the API's answers (core.shapes): a period's collection coverage,
which ``guilds.selectors.period_coverage`` builds and the stats answers embed."""

from __future__ import annotations

from typing import Annotated, TypedDict

from msgspec import Meta

from core.shapes import Instant


class CoverageGap(TypedDict):
    start: Instant
    end: Instant


class PeriodCoverage(TypedDict):
    covered: Annotated[
        bool | None,
        Meta(
            description="null: the guild never had a collection window (its bot sends no "
            "heartbeats); true: no gap in the measured time"
        ),
    ]
    coveredSeconds: int | None
    periodSeconds: Annotated[
        int | None,
        Meta(
            description="the measured time: from the later of the period's start and "
            "trackedSince to the earlier of its end and now"
        ),
    ]
    trackedSince: Annotated[
        Instant | None, Meta(description="start of the guild's first collection window")
    ]
    gaps: Annotated[
        list[CoverageGap], Meta(description="uncovered stretches, the latest 50, oldest first")
    ]
