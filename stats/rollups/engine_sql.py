"""PostgreSQL engine of the rollups: one INSERT … SELECT per range.

The same rules as ``engine_python.compute_in_python`` (the reference; a test fills the same
data with both and compares whole tables), written set-based so that PostgreSQL does the work.

* 5-minute buckets read the raw events once, in one aggregation at the finest grain the rules
  need (guild, bucket, type, member, channel, emoji); the per-guild rules (bots, excluded
  channels, the switch to bot snapshots) then apply to those groups, far fewer than the events,
  and members, channels, types and emojis are summed from them. Voice sessions are split into
  buckets with ``generate_series``; bot snapshot rows are added. Besides the snapshots, the same
  statement stores each bucket's keys and sums as one row of arrays (``rollup_parts``).
* Hourly and daily buckets unnest and sum those parts instead of reading a day of raw events
  again: 5-minute sums add up exactly (voice seconds are differences of rounded instants, which
  telescope), and every zone's midnight falls on a 5-minute boundary.

Both shapes end in the same assembly (``assembly.py``). Buckets: ``date_bin`` on the Unix epoch
for 5 minutes and hours, the guild's local day (``AT TIME ZONE``) for days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

from django.db import connection, transaction
from guildstats_contract.events import COVERAGE_TYPES
from guildstats_contract.ids import EPOCH

from guilds.models import Guild
from stats.rollups.assembly import INT_MAX, assembly, buckets
from stats.rollups.buckets import FIVE_MIN as FIVE_MIN_GRANULARITY
from stats.services.voice import session_cap

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

    from stats.rollups.buckets import Granularity

# django-stubs' parameter type lacks timedelta (``cap``), which psycopg sends as an interval:
# hence the ignores on ``execute``
Params: TypeAlias = dict[str, datetime | timedelta | str | list[int] | list[str]]
# (guild, start, end, messages, voice seconds, reactions, unique active users)
PreviewRow: TypeAlias = tuple[int, datetime, datetime, int, int, int, int]

# Whole seconds since the epoch, instants rounded half up at millisecond precision: the same
# arithmetic as stats.services.counting.second_mark.
MARK = "floor((floor(extract(epoch FROM {t}) * 1000) + 500) / 1000)"
ORIGIN = "timestamptz '1970-01-01 00:00:00+00'"


def _bounds(granularity: Granularity, t: str, zone: str) -> tuple[str, str]:
    """SQL for the start and end of the bucket containing instant ``t``."""
    if granularity.size is not None:
        step = f"interval '{int(granularity.size.total_seconds())} seconds'"
        start = f"date_bin({step}, {t}, {ORIGIN})"
        return start, f"({start} + {step})"
    local = f"date_trunc('day', {t} AT TIME ZONE {zone})"
    return f"({local} AT TIME ZONE {zone})", f"(({local} + interval '1 day') AT TIME ZONE {zone})"


def compute(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    now: datetime,
    guild_ids: Sequence[int] | None,
) -> int:
    """Insert the snapshots of the buckets ending in (after, until]; return the row count."""
    params: Params = {
        "lo": after if granularity.size is not None else after - granularity.longest,
        "after": after,
        "until": until,
        "now": now,
        "cap": session_cap(),
        "period_type": granularity.name,
        "guilds": list(guild_ids or []),
        "zones": _known_zones(),
    }
    only = "" if guild_ids is None else " AND {a}.guild_id = ANY(%(guilds)s)"
    from_events = granularity.size is not None and granularity.size <= PART_SIZE
    with connection.cursor() as cursor:
        _tune(cursor)
        if from_events:
            # A 5-minute range is whole buckets: the parts of its buckets are written again.
            assert (after - EPOCH) % PART_SIZE == timedelta(0) == (until - EPOCH) % PART_SIZE  # noqa: S101
            cursor.execute(
                f"DELETE FROM rollup_parts p WHERE p.bucket_start >= %(after)s "
                f"AND p.bucket_start < %(until)s{only.format(a='p')}",
                params,  # type: ignore[arg-type]
            )
            statement = _from_events(granularity, only)
        else:
            statement = _from_parts(granularity, only)
        cursor.execute(statement + assembly(write_parts=from_events), params)  # type: ignore[arg-type]
        return int(cursor.rowcount)


def preview(
    after: datetime, until: datetime, now: datetime, guild_ids: Sequence[int]
) -> list[PreviewRow]:
    """The 5-minute buckets ending in (after, until] of ``guild_ids``, computed as ``compute``
    would store them but only read: (guild, start, end, messages, voice seconds, reactions,
    unique active users) per bucket (the live chart's stretch the fill has not reached)."""
    params: Params = {
        # the buckets ending in (after, until] are those starting in [floor(after), floor(until))
        "after": EPOCH + (after - EPOCH) // PART_SIZE * PART_SIZE,
        "until": EPOCH + (until - EPOCH) // PART_SIZE * PART_SIZE,
        "now": now,
        "cap": session_cap(),
        "guilds": list(guild_ids),
        "zones": _known_zones(),
    }
    statement = (
        _from_events(FIVE_MIN_GRANULARITY, " AND {a}.guild_id = ANY(%(guilds)s)")
        + buckets(arrays=False)
        + f"""
SELECT guild_id, bstart, bend, least(m, {INT_MAX}), least(v, {INT_MAX}), least(r, {INT_MAX}),
       active
FROM buckets ORDER BY bstart"""
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(statement, params)  # type: ignore[arg-type]
        rows: list[PreviewRow] = cursor.fetchall()
        return rows


def _tune(cursor: CursorWrapper) -> None:
    """Settings for the rest of the transaction, in one round trip (the live preview runs on
    every cold read of an activity series): work_mem for in-memory aggregation over a range's
    few hundred thousand rows; no JIT and no merge joins, because the planner's row estimates
    for these CTEs are far too high (it cannot know how few groups the events make), so it
    would JIT-compile the statement, which cost seconds per range, more than running it, and
    pick merge joins that sort the rows again and again where the per-guild tables hash in
    memory."""
    cursor.execute(
        "SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true), "
        "set_config('enable_mergejoin', 'off', true)"
    )


_ZONES: list[str] = []


def _known_zones() -> list[str]:
    """PostgreSQL's time zone names, read once per process: a guild whose zone PostgreSQL does
    not know (a row stored before the admin's validator) is counted in UTC. Reading
    ``pg_timezone_names`` in every statement cost 40 ms, a sixth of a 5-minute bucket's fill."""
    if not _ZONES:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_timezone_names")
            _ZONES[:] = sorted(row[0] for row in cursor.fetchall())  # threads may race here
    return _ZONES


PART_SIZE = timedelta(minutes=5)


def _settings(only: str) -> str:
    """The guilds' counting settings (only the chosen guilds' when ``only`` names some).

    These CTEs mirror the counting rules of ``stats.services.rules`` in SQL (bots counted only
    where ``count_bots``; excluded channels; the guild's zone for local days): the Python engine
    uses the rules themselves, and tests/stats/rollups/test_rollup_engines.py holds the two
    engines to the same snapshots."""
    return f"""
settings AS (
  SELECT g.guild_id, g.count_bots,
         CASE WHEN g.timezone = ANY(%(zones)s) THEN g.timezone ELSE 'UTC' END AS zone,
         g.excluded_channel_ids
  FROM {Guild._meta.db_table} g
  WHERE true{only.format(a="g")}
)"""


COUNTED_TYPES = "('MESSAGE_CREATE', 'MESSAGE_REACTION_ADD')"
SKIPPED_TYPES = ", ".join(f"'{t}'" for t in sorted(COVERAGE_TYPES))


def _from_events(granularity: Granularity, only: str) -> str:
    """CTEs members, channels, types, emojis, totals of 5-minute buckets, from raw events, voice
    sessions and bot snapshot rows."""
    ev_start, _ = _bounds(granularity, "e.timestamp", "")
    sa_start, sa_end = _bounds(granularity, "sa.period_start", "")
    step = f"interval '{int(PART_SIZE.total_seconds())} seconds'"
    return f"""WITH
{_settings(only)},
-- The guilds whose rules differ from the default (bots not counted, no excluded channel,
-- raw activity counted): one row each, so that an event costs one lookup for them all.
rules AS (
  SELECT coalesce(s.guild_id, a.guild_id) AS guild_id, coalesce(s.count_bots, false) AS count_bots,
         a.snapshots_since,
         ARRAY(SELECT x.value::bigint
               FROM jsonb_array_elements_text(
                      CASE WHEN jsonb_typeof(s.excluded_channel_ids) = 'array'
                           THEN s.excluded_channel_ids ELSE '[]' END) x
               WHERE x.value ~ '^[0-9]{{1,18}}$') AS excluded
  FROM (SELECT * FROM settings WHERE count_bots OR excluded_channel_ids <> '[]') s
  FULL JOIN activity_sources a ON a.guild_id = s.guild_id
),
bots AS (SELECT guild_id, user_id FROM member_stats m WHERE is_bot{only.format(a="m")}),
-- The one pass over the raw events, grouped at the finest grain the rules need. Whether an
-- event counts is decided per event by hash lookups in small per-guild tables (bots, excluded
-- channels, the switch to bot snapshots); an event that does not count keeps only its type, so
-- the groups are few (the member, channel and emoji of counted events only).
fine AS MATERIALIZED (
  SELECT guild_id, bstart, type,
         CASE WHEN ok THEN user_id END AS user_id,
         CASE WHEN ok AND type = 'MESSAGE_CREATE' THEN channel_id END AS channel_id,
         CASE WHEN ok AND type = 'MESSAGE_REACTION_ADD' THEN
           left(CASE jsonb_typeof(data -> 'emoji')
             WHEN 'string' THEN nullif(data ->> 'emoji', '')
             WHEN 'object' THEN coalesce(nullif(data -> 'emoji' ->> 'name', ''),
                                         nullif(data -> 'emoji' ->> 'id', ''))
           END, 100)
         END AS emoji,
         count(*) AS n
  FROM (
    SELECT e.guild_id, {ev_start} AS bstart, e.type, e.user_id, e.channel_id, e.data,
           (e.user_id IS NOT NULL
            AND ((e.type = 'MESSAGE_CREATE' AND e.channel_id IS NOT NULL)
                 OR e.type = 'MESSAGE_REACTION_ADD')
            AND (coalesce(z.count_bots, false) OR b.user_id IS NULL)
            AND NOT coalesce(e.channel_id = ANY(z.excluded), false)
            AND (z.snapshots_since IS NULL OR e.timestamp < z.snapshots_since)) AS ok
    FROM events e
    LEFT JOIN rules z ON z.guild_id = e.guild_id
    LEFT JOIN bots b ON b.guild_id = e.guild_id AND b.user_id = e.user_id
    WHERE e.timestamp >= %(after)s AND e.timestamp < %(until)s{only.format(a="e")}
      AND e.type NOT IN ({SKIPPED_TYPES})
  ) e
  GROUP BY 1, 2, 3, 4, 5, 6
),
counted AS (
  SELECT guild_id, bstart, user_id, channel_id, emoji,
         CASE WHEN type = 'MESSAGE_CREATE' THEN n ELSE 0 END AS m,
         CASE WHEN type = 'MESSAGE_REACTION_ADD' THEN n ELSE 0 END AS r
  FROM fine WHERE user_id IS NOT NULL
),
sessions AS (
  SELECT guild_id, user_id, channel_id, started_at AS s, ended_at AS t
  FROM voice_session_log l
  -- the span's GiST index (migration 0019) finds the sessions that overlap the range
  WHERE tstzrange(started_at, greatest(started_at, ended_at), '[]')
          && tstzrange(%(after)s, %(until)s, '[)')
    AND started_at < %(until)s AND ended_at > %(after)s{only.format(a="l")}
  UNION ALL
  SELECT guild_id, user_id, channel_id, joined_at, least(%(now)s, joined_at + %(cap)s)
  FROM voice_sessions o
  WHERE joined_at < %(until)s{only.format(a="o")}
),
counted_sessions AS (
  SELECT v.guild_id, v.user_id, v.channel_id, v.s,
         CASE WHEN z.snapshots_since IS NULL THEN v.t ELSE least(v.t, z.snapshots_since) END AS t
  FROM sessions v
  LEFT JOIN rules z ON z.guild_id = v.guild_id
  LEFT JOIN bots b ON b.guild_id = v.guild_id AND b.user_id = v.user_id
  WHERE (coalesce(z.count_bots, false) OR b.user_id IS NULL)
    AND NOT coalesce(v.channel_id = ANY(z.excluded), false)
),
voice AS (
  SELECT v.guild_id, v.user_id, v.channel_id, k.bstart, k.bstart + {step} AS bend,
         ({MARK.format(t=f"least(v.t, k.bstart + {step})")}
           - {MARK.format(t="greatest(v.s, k.bstart)")})::bigint AS seconds
  FROM counted_sessions v,
       LATERAL generate_series(date_bin({step}, greatest(v.s, %(after)s), {ORIGIN}),
                               least(v.t, %(until)s) - interval '1 microsecond', {step}) k(bstart)
  WHERE v.t > v.s AND v.t > %(after)s
),
snap_in AS (
  SELECT sa.guild_id, {sa_start} AS bstart, {sa_end} AS bend, sa.user_id, sa.channel_id,
         sa.emoji, sa.messages, sa.voice_seconds, sa.reactions
  FROM snapshot_activity sa
  WHERE sa.period_start >= %(after)s AND sa.period_start < %(until)s{only.format(a="sa")}
),
members AS (
  SELECT guild_id, bstart, bstart + {step} AS bend, user_id,
         sum(m)::bigint AS m, sum(r)::bigint AS r, sum(v)::bigint AS v
  FROM (
    SELECT guild_id, bstart, user_id, m, r, 0 AS v FROM counted
    UNION ALL
    SELECT guild_id, bstart, user_id, 0, 0, seconds FROM voice
    UNION ALL
    SELECT guild_id, bstart, user_id, messages, reactions, voice_seconds
    FROM snap_in WHERE user_id IS NOT NULL
  ) u
  GROUP BY guild_id, bstart, user_id
  HAVING sum(m) + sum(r) + sum(v) > 0
),
channels AS (
  SELECT guild_id, bstart, bstart + {step} AS bend, channel_id,
         sum(m)::bigint AS m, sum(v)::bigint AS v
  FROM (
    SELECT guild_id, bstart, channel_id, m, 0 AS v FROM counted WHERE m > 0
    UNION ALL
    SELECT guild_id, bstart, channel_id, 0, seconds FROM voice
    UNION ALL
    SELECT guild_id, bstart, channel_id, messages, voice_seconds
    FROM snap_in WHERE channel_id IS NOT NULL
  ) u
  GROUP BY guild_id, bstart, channel_id
  HAVING sum(m) + sum(v) > 0
),
types AS (
  SELECT guild_id, bstart, bstart + {step} AS bend, type AS key, sum(n)::bigint AS n
  FROM fine GROUP BY guild_id, bstart, type
),
emojis AS (
  SELECT guild_id, bstart, bstart + {step} AS bend, key, sum(n)::bigint AS n
  FROM (
    SELECT guild_id, bstart, emoji AS key, r AS n FROM counted WHERE emoji IS NOT NULL
    UNION ALL
    SELECT guild_id, bstart, emoji, reactions FROM snap_in WHERE emoji <> ''
  ) u
  GROUP BY guild_id, bstart, key
  HAVING sum(n) > 0
),
totals AS (
  SELECT guild_id, bstart, bstart + {step} AS bend,
         sum(m)::bigint AS m, sum(v)::bigint AS v, sum(r)::bigint AS r
  FROM (
    SELECT guild_id, bstart, m, 0 AS v, r FROM counted
    UNION ALL
    SELECT guild_id, bstart, 0, seconds, 0 FROM voice
    UNION ALL
    SELECT guild_id, bstart, messages, voice_seconds, reactions FROM snap_in
    WHERE user_id IS NULL AND channel_id IS NULL AND emoji = ''
  ) u
  GROUP BY guild_id, bstart
),"""


def _from_parts(granularity: Granularity, only: str) -> str:
    """CTEs members, channels, types, emojis, totals of hourly or daily buckets, summed from the
    5-minute parts.

    Hours read every guild's parts of the range. Days are driven by the guilds whose local day
    ends in the range (``days``): their parts are read by the (guild, bucket) key, so a run
    every 15 minutes reads only the guilds whose midnight just passed, once each.
    """
    if granularity.size is not None:
        start, end = _bounds(granularity, "p.bucket_start", "")
        days = ""
        parts = (
            f"SELECT p.*, {start} AS bstart, {end} AS bend FROM rollup_parts p "
            f"WHERE p.bucket_start >= %(after)s AND p.bucket_start < %(until)s{only.format(a='p')}"
        )
    else:
        local_end = "((d + interval '1 day') AT TIME ZONE s.zone)"
        days = f"""
days AS (
  SELECT s.guild_id, d AT TIME ZONE s.zone AS bstart, {local_end} AS bend
  FROM settings s,
       generate_series(date_trunc('day', (%(after)s - interval '1 day') AT TIME ZONE s.zone),
                       %(until)s AT TIME ZONE s.zone, interval '1 day') d
  WHERE {local_end} > %(after)s AND {local_end} <= %(until)s{only.format(a="s")}
),"""
        parts = (
            "SELECT p.*, d.bstart, d.bend FROM days d JOIN rollup_parts p "
            "ON p.guild_id = d.guild_id AND p.bucket_start >= d.bstart AND p.bucket_start < d.bend"
        )

    def unnested(keys: str, arrays: str, sums: str) -> str:
        # unnest() in the select list zips equal-length arrays in one ProjectSet step; in FROM
        # it would materialise a function scan per parts row
        columns = ", ".join(f"unnest({a.strip()}) AS x{i}" for i, a in enumerate(arrays.split(",")))
        return f"""
  SELECT guild_id, bstart, bend, x0 AS {keys}, {sums}
  FROM (SELECT p.guild_id, p.bstart, p.bend, {columns} FROM parts p) u
  GROUP BY guild_id, bstart, bend, x0"""

    return f"""WITH
{_settings(only)},{days}
parts AS MATERIALIZED ({parts}),
members AS ({
        unnested(
            "user_id",
            "p.member_ids, p.member_messages, p.member_reactions, p.member_voice",
            "sum(x1)::bigint AS m, sum(x2)::bigint AS r, sum(x3)::bigint AS v",
        )
    }
),
channels AS ({
        unnested(
            "channel_id",
            "p.channel_ids, p.channel_messages, p.channel_voice",
            "sum(x1)::bigint AS m, sum(x2)::bigint AS v",
        )
    }
),
types AS ({unnested("key", "p.type_keys, p.type_counts", "sum(x1)::bigint AS n")}
),
emojis AS ({unnested("key", "p.emoji_keys, p.emoji_counts", "sum(x1)::bigint AS n")}
),
totals AS (
  SELECT guild_id, bstart, bend, sum(total_messages)::bigint AS m,
         sum(total_voice_seconds)::bigint AS v, sum(total_reactions)::bigint AS r
  FROM parts GROUP BY guild_id, bstart, bend
),"""
