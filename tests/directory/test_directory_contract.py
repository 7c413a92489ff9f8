"""The directory's payloads (guildstats_contract.directory) under random input: a chunk of
well-formed shape is never refused for one bad entry, every kept name is clean and within its
bound, and every entry that does not fit is dropped alone and counted."""

from __future__ import annotations

import unicodedata

import msgspec
from guildstats_contract.directory import (
    CHANNEL_NAME_MAX,
    MAX_CHUNK_ENTRIES,
    USERNAME_MAX,
    DirectoryChunk,
    clean_name,
)
from guildstats_contract.ids import is_snowflake
from hypothesis import given, settings
from hypothesis import strategies as st

ids = st.one_of(
    st.integers(min_value=1, max_value=2**63 - 1).map(str),  # valid
    st.sampled_from(["", "0", "abc", "-5", "1" * 25]),  # not snowflakes
)
names = st.text(max_size=300)  # control characters, format characters, surrogates
channels = st.fixed_dictionaries(
    {"id": ids, "name": names},
    optional={"type": st.integers(-5, 300), "position": st.integers(-10, 10)},
)
members = st.fixed_dictionaries(
    {"id": ids, "username": names},
    optional={
        "nick": st.one_of(st.none(), names),
        "roles": st.lists(ids, max_size=5),
        "bot": st.booleans(),
    },
)


def _fits_channel(entry: dict) -> bool:
    return is_snowflake(entry["id"]) and 0 <= entry.get("type", 0) <= 255


def _fits_member(entry: dict) -> bool:
    return is_snowflake(entry["id"]) and all(is_snowflake(r) for r in entry.get("roles", []))


@settings(max_examples=200, deadline=None)
@given(st.lists(channels, max_size=20), st.lists(members, max_size=20))
def test_bad_entries_are_dropped_alone_and_names_cleaned(channel_list, member_list):
    chunk = msgspec.convert(
        {
            "snapshotId": "s",
            "part": 0,
            "parts": 1,
            "sections": ["channels", "members"],
            "channels": channel_list,
            "members": member_list,
        },
        DirectoryChunk,
        strict=True,
    )
    kept_channels = [c for c in channel_list if _fits_channel(c)]
    kept_members = [m for m in member_list if _fits_member(m)]
    assert [c.id for c in chunk.channels] == [c["id"] for c in kept_channels]
    assert [m.id for m in chunk.members] == [m["id"] for m in kept_members]
    assert chunk.dropped == len(channel_list) + len(member_list) - len(kept_channels) - len(
        kept_members
    )
    for channel, sent in zip(chunk.channels, kept_channels, strict=True):
        assert channel.name == clean_name(sent["name"], CHANNEL_NAME_MAX)
        assert len(channel.name) <= CHANNEL_NAME_MAX
    for member in chunk.members:
        assert len(member.username) <= USERNAME_MAX
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in member.username)


def test_a_chunk_out_of_range_or_too_big_is_refused_whole():
    base = {"snapshotId": "s", "sections": ["channels"]}
    for data, reason in (
        ({**base, "part": 2, "parts": 2}, "out of range"),
        (
            {
                **base,
                "part": 0,
                "parts": 1,
                "channels": [{"id": "1", "name": "c"}] * (MAX_CHUNK_ENTRIES + 1),
            },
            "at most",
        ),
    ):
        try:
            msgspec.convert(data, DirectoryChunk, strict=True)
        except msgspec.ValidationError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"accepted: {reason}")
