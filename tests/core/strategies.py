"""Hypothesis strategies for bot events: mostly well-formed, with values at and just past every
bound, so that ingest's checks and the processors' columns meet at their edges.

Payloads are derived from the very msgspec schemas ingest validates with (``DATA_SCHEMAS``), so
a new field or bound is fuzzed without touching this file.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec.inspect as mi
from guildstats_contract.events import KNOWN_TYPES
from guildstats_contract.ids import SNOWFLAKE_MAX
from guildstats_contract.payloads import DATA_SCHEMAS, GUILD_FIELD_NAMES
from hypothesis import strategies as st

EDGE_INTS = [0, 1, -1, 3, 2**15 - 1, 2**15, 2**31 - 1, 2**31, 2**53, 2**62, 2**63 - 1, 2**63, 2**64]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1e-300, 1e6, 1e6 + 1, 1e300, -1.0]
EDGE_STRINGS = ["", "x", "²", "١٢", "e\u0301", "\U0001f600", " ", "0", "00", "-1"]
SNOWFLAKES = [
    "1",
    "42",
    "815000000000000098",
    str(SNOWFLAKE_MAX),
    str(SNOWFLAKE_MAX + 1),
    "99999999999999999999",
    "0",
    "-5",
    "²",
    " 12",
    "1e5",
    "",
]
DATETIMES = [
    "2026-11-30T12:00:00Z",
    "2026-11-30T12:00:00.123+05:30",
    "2026-11-30T12:00:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "1969-12-31T23:59:59Z",
    "2999-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z",
    "not a date",
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EDGE_INTS),
    st.integers(),
    st.sampled_from(EDGE_FLOATS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EDGE_STRINGS),
    st.text(max_size=20),
)
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def mostly(
    valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any], one_in: int = 10
) -> st.SearchStrategy[Any]:
    """``valid``, except one time in ``one_in``: an event is refused whole by one bad field, so
    each field must usually pass for processors to see edge values at all."""
    return st.integers(1, one_in).flatmap(lambda i: other if i == 1 else valid)


def snowflakes() -> st.SearchStrategy[str]:
    valid = st.sampled_from(["1", "42", "815000000000000098", str(SNOWFLAKE_MAX)]) | st.integers(
        1, SNOWFLAKE_MAX
    ).map(str)
    return mostly(valid, st.sampled_from(SNOWFLAKES))


def strings(info: mi.StrType) -> st.SearchStrategy[str]:
    inside, outside = list(EDGE_STRINGS), []
    low, high = info.min_length or 0, info.max_length
    if high is not None:
        inside += ["y" * high, "é" * high, "😀" * high, "y" * max(high - 1, low)]
        outside += ["y" * (high + 1), "😀" * (high + 1)]
    if low:
        inside = [v for v in inside if len(v) >= low]
        outside.append("y" * (low - 1))
    valid = st.sampled_from(inside) | st.text(min_size=low, max_size=min(high or 30, 30))
    return mostly(valid, st.sampled_from(outside)) if outside else valid


def numbers(info: mi.IntType | mi.FloatType) -> st.SearchStrategy[Any]:
    floats = isinstance(info, mi.FloatType)
    edges: list[Any] = list(EDGE_FLOATS if floats else EDGE_INTS)
    low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else None)
    high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else None)
    inside = [v for v in edges if (low is None or v >= low) and (high is None or v <= high)]
    outside = [v for v in edges if v not in inside]
    for bound in (low, high):
        if bound is not None:
            inside.append(bound)
    if low is not None:
        outside.append(low - 1)
    if high is not None:
        outside.append(high + 1)
    if floats:
        inside += [float(v) for v in inside]
    valid = st.sampled_from(inside or [0])
    return mostly(valid, st.sampled_from(outside)) if outside else valid


def from_type(info: mi.Type, name: str = "") -> st.SearchStrategy[Any]:
    """Values for a msgspec type, with a small chance of any JSON at all."""
    return mostly(_typed(info, name), any_json, 25) if name else _typed(info, name)


def _typed(info: mi.Type, name: str) -> st.SearchStrategy[Any]:
    lowered = name.lower()
    if isinstance(info, mi.LiteralType):  # one of the allowed values, or not
        return mostly(st.sampled_from(sorted(info.values)), st.sampled_from(EDGE_STRINGS))
    if isinstance(info, mi.StrType) and (lowered.endswith("id") or lowered == "key"):
        return snowflakes()
    if isinstance(info, mi.StrType):
        return strings(info)
    if isinstance(info, mi.IntType | mi.FloatType):
        return numbers(info)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.DateTimeType):
        return st.sampled_from(DATETIMES)
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.UnionType):
        return st.one_of([_typed(t, name) for t in info.types])
    if isinstance(info, mi.ListType):
        item = snowflakes() if lowered.endswith("ids") else _typed(info.item_type, name)
        return st.lists(item, max_size=4)
    if isinstance(info, mi.DictType):
        if name == "changes":  # GUILD_UPDATE: {field: {"old", "new"}}
            return st.dictionaries(
                st.sampled_from(sorted(GUILD_FIELD_NAMES)) | st.text(max_size=6),
                st.fixed_dictionaries({"new": guild_values()}) | any_json,
                max_size=4,
            )
        keys = snowflakes() if lowered.startswith("by") and lowered != "byemoji" else None
        if keys is None:
            keys = _typed(info.key_type, "")
        return st.dictionaries(keys, _typed(info.value_type, ""), max_size=4)
    if isinstance(info, mi.StructType):
        return structs(info)
    return any_json


def guild_values() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(EDGE_INTS), snowflakes(), strings(mi.StrType(max_length=255)))


def structs(info: mi.StructType) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.encode_name: from_type(f.type, f.encode_name) for f in info.fields if f.required}
    optional = {
        f.encode_name: from_type(f.type, f.encode_name) for f in info.fields if not f.required
    }
    return st.fixed_dictionaries(required, optional=optional)


# fixed when the module loads: a strategy must draw the same way every time it replays
BASE_MS = int(time.time() * 1000)


def timestamps() -> st.SearchStrategy[int]:
    """Mostly accepted (the last hours), sometimes at or past the window's edges."""
    base = BASE_MS
    edges = [base + 299_000, base + 301_000, base - 31 * 86_400_000, 0, -1, 2**63]
    return mostly(st.integers(base - 6 * 3_600_000, base), st.sampled_from(edges))


def payload_for(type_: str) -> st.SearchStrategy[Any]:
    schema = DATA_SCHEMAS.get(type_)
    if schema is None:  # stored raw: any object (with ``bot``, which every type may carry)
        objects = st.dictionaries(
            st.sampled_from(["bot", "content"]) | st.text(max_size=8), any_json
        )
        return mostly(objects, any_json)
    data = structs(mi.type_info(schema))
    if "periodStart" in {f.encode_name for f in mi.type_info(schema).fields}:
        # snapshot periods inside the accepted window, often
        base = BASE_MS
        period = st.integers(base - 3_600_000, base)
        data = (
            st.tuples(data, period, st.integers(0, 600_000)).map(
                lambda t: (
                    {**t[0], "periodStart": t[1], "periodEnd": t[1] + t[2]}
                    if isinstance(t[0], dict)
                    else t[0]
                )
            )
            | data
        )
    if "since" in {f.encode_name for f in mi.type_info(schema).fields}:
        # heartbeats: a span ending at the event (its timestamp is drawn separately), often
        since = st.integers(BASE_MS - 6 * 3_600_000, BASE_MS - 3_600_000)
        data = (
            st.tuples(data, since).map(
                lambda t: {**t[0], "since": t[1]} if isinstance(t[0], dict) else t[0]
            )
            | data
        )
    return mostly(data, any_json)


GUILDS = ["815000000000000098", "815000000000000099", "2", "4194304"]


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    read = sorted(DATA_SCHEMAS)  # the types whose payload processors read: fuzzed most
    known = st.sampled_from(read) | st.sampled_from(read) | st.sampled_from(sorted(KNOWN_TYPES))
    type_ = draw(mostly(known, st.sampled_from(["X_Y", "x", "A" * 65])))
    body: dict[str, Any] = {
        "type": type_,
        "guildId": draw(mostly(st.sampled_from(GUILDS), snowflakes())),
        "timestamp": draw(timestamps()),
    }
    for field in ("userId", "channelId", "messageId", "roleId"):
        if draw(st.integers(0, 4)):  # usually present: counted types require some
            members = st.sampled_from(["700000000000000001", "700000000000000002"])
            body[field] = draw(mostly(members, snowflakes()))
    if draw(st.booleans()):
        shard = st.sampled_from([0, 1, 7, 2**31 - 1])
        body["shardId"] = draw(mostly(shard, st.sampled_from([-1, 2**31, 2**40])))
    if draw(st.integers(0, 9)):
        body["data"] = draw(payload_for(type_))
    if draw(st.booleans()):
        body["id"] = draw(mostly(st.text(min_size=1, max_size=64), st.sampled_from(["", "i" * 65])))
    return body


# --- Every bound, one field at a time ---------------------------------------------------------
# Random frames find combinations; this sweep makes sure each bound's edge (the last value
# inside, the first outside) is sent at least once, in an otherwise valid payload.
VALID_DATETIME = "2026-11-30T12:00:00Z"


def minimal(info: mi.Type, name: str = "") -> Any:
    """A valid value of ``info`` (required fields only, for structs)."""
    lowered = name.lower()
    if isinstance(info, mi.LiteralType):
        return sorted(info.values)[0]
    if isinstance(info, mi.UnionType):
        types = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return minimal(types[0], name) if types else None
    if isinstance(info, mi.StrType):
        return "1" if lowered.endswith("id") else "x" * max(info.min_length or 1, 1)
    if isinstance(info, mi.IntType):
        return info.ge if info.ge is not None else 1
    if isinstance(info, mi.FloatType):
        return 1.0
    if isinstance(info, mi.BoolType):
        return True
    if isinstance(info, mi.DateTimeType):
        return VALID_DATETIME
    if isinstance(info, mi.ListType):
        return []
    if isinstance(info, mi.DictType):
        return {}
    if isinstance(info, mi.StructType):
        return {f.encode_name: minimal(f.type, f.encode_name) for f in info.fields if f.required}
    return None


def edge_values(info: mi.Type, name: str) -> list[Any]:
    lowered = name.lower()
    if isinstance(info, mi.LiteralType):
        return [*sorted(info.values), "", "X"]
    if isinstance(info, mi.UnionType):
        return [v for t in info.types for v in edge_values(t, name)]
    if isinstance(info, mi.StrType) and lowered.endswith("id"):
        return SNOWFLAKES
    if isinstance(info, mi.StrType):
        high = info.max_length
        return EDGE_STRINGS + ([] if high is None else ["y" * high, "😀" * high, "y" * (high + 1)])
    if isinstance(info, mi.IntType | mi.FloatType):
        values = list(EDGE_INTS) + list(EDGE_FLOATS)
        for bound in (info.ge, info.le):
            if bound is not None:
                values += [bound - 1, bound, bound + 1]
        return values
    if isinstance(info, mi.DateTimeType):
        return DATETIMES
    if isinstance(info, mi.ListType) and lowered.endswith("ids"):
        return [[v] for v in SNOWFLAKES]
    if isinstance(info, mi.DictType) and lowered.startswith("by"):
        value = minimal(info.value_type)
        keys = ["y" * 100, "y" * 101] if lowered == "byemoji" else SNOWFLAKES
        return [{k: value} for k in keys] + [{"1": v} for v in edge_values(info.value_type, "")]
    return [None, [], {}, "x", 2**63]


def edge_payloads(info: mi.StructType) -> list[dict[str, Any]]:
    """The minimal payload with one field (at any depth) set to each of its edge values."""
    base = minimal(info)
    out: list[dict[str, Any]] = []
    for field in info.fields:
        for value in edge_values(field.type, field.encode_name):
            out.append({**base, field.encode_name: value})
        inner = field.type
        if isinstance(inner, mi.UnionType):
            inner = next((t for t in inner.types if isinstance(t, mi.StructType)), inner)
        if isinstance(inner, mi.StructType):
            out += [{**base, field.encode_name: p} for p in edge_payloads(inner)]
        if isinstance(inner, mi.ListType) and isinstance(inner.item_type, mi.StructType):
            out += [{**base, field.encode_name: [p]} for p in edge_payloads(inner.item_type)]
    return out


def edge_events(guild: str, at_ms: int) -> list[dict[str, Any]]:
    """One event per (type, field, edge value), for every type whose payload is read."""
    out = []
    for type_, schema in sorted(DATA_SCHEMAS.items()):
        for data in edge_payloads(mi.type_info(schema)):
            if "periodStart" in data:
                data = {**data, "periodStart": at_ms - 60_000, "periodEnd": at_ms}
            if "since" in data and "guildIds" in data:  # a heartbeat's span ends at the event
                data = {**data, "since": at_ms - 60_000}
            out.append(
                {
                    "type": type_,
                    "guildId": guild,
                    "timestamp": at_ms,
                    "userId": "700000000000000001",
                    "channelId": "700000000000000002",
                    "data": data,
                }
            )
    for changes_key in sorted(GUILD_FIELD_NAMES):  # GUILD_UPDATE's changes hold a guild's fields
        for value in [*EDGE_INTS, *SNOWFLAKES, "y" * 100, "y" * 101, "y" * 256, None, [], ["y"]]:
            out.append(
                {
                    "type": "GUILD_UPDATE",
                    "guildId": guild,
                    "timestamp": at_ms,
                    "data": {"changes": {changes_key: {"old": None, "new": value}}},
                }
            )
    return out
