"""What every payload schema shares: the bounds of the values the server stores, and the
range checks of snowflakes and datetimes. The payloads themselves are in ``payloads`` and
``actions``; the reasons for the bounds are below.

Every value a processor stores is bounded here to its column, so that nothing ingest accepts can
fail later. Shapes follow seed 001; where the seed gives none, docs/ingest.md documents ours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from msgspec import Meta, Struct

from guildstats_contract.ids import is_snowflake as _is_snowflake

# Snowflakes are checked with str methods in __post_init__: a msgspec ``pattern`` runs
# Python's re per field, which cost more than the rest of the decoding put together.
Snowflake = str

# --- Bounds shared by the payloads ------------------------------------------------------
# Every value a processor stores is bounded here to its column, so that nothing ingest accepts
# can fail later (PostgreSQL refuses longer strings and larger integers, which used to fail the
# event at processing, after the ack). Codes are varchar(100), names varchar(255), counts
# integer; datetimes need a time zone (seed 001 sends ``toISOString()``, always UTC with ``Z``)
# and must lie between 1970 and 3000 in UTC (a far offset on 9999-12-31 overflows); epoch
# milliseconds end at year 9999.
InviteCode = Annotated[str, Meta(min_length=1, max_length=100)]
Count = Annotated[int, Meta(ge=0, le=2**31 - 1)]
Name = Annotated[str, Meta(max_length=255)]
GuildName = Annotated[str, Meta(max_length=100)]
Icon = Annotated[str, Meta(max_length=255)]
Feature = Annotated[str, Meta(max_length=100)]
Tier = Annotated[int, Meta(ge=0, le=32767)]  # smallint; Discord uses 0 to 3
AwareDatetime = Annotated[datetime, Meta(tz=True)]
EpochMs = Annotated[int, Meta(ge=0, le=253_402_300_799_999)]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


class Checked(Struct, rename="camel"):
    """A payload whose snowflakes (``_snowflakes``) and datetimes are range-checked after
    decoding (msgspec turns the ValueError into a ValidationError with our message)."""

    _snowflakes: ClassVar[tuple[str, ...]] = ()
    _datetimes: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._snowflakes:
            value = getattr(self, name)
            if value is not None and not _is_snowflake(value):
                raise ValueError(f"{camel(name)} is not a valid snowflake")
        for name in self._datetimes:
            value = getattr(self, name)
            if isinstance(value, datetime) and value.tzinfo and not EARLIEST <= value < LATEST:
                raise ValueError(f"{camel(name)} must lie between 1970 and 3000")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
