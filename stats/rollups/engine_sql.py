"""PostgreSQL engine of the rollups: one INSERT … SELECT per range.

The same rules as ``rollup_compute.compute_in_python`` (the reference; a test fills the same
data with both and compares whole tables), written set-based so that PostgreSQL does the work.

* 5-minute buckets read the raw events once: one scan grouped four ways at once (GROUPING SETS:
  by type, member, channel, emoji), voice sessions split into buckets with ``generate_series``,
  bot snapshot rows. Besides the snapshots, the same statement stores these per-bucket parts
  (``rollup_members``, ``rollup_channels``, ``rollup_counts``).
* Hourly and daily buckets sum those parts and the 5-minute totals instead of reading a day of
  raw events again: 5-minute sums add up exactly (voice seconds are differences of rounded
  instants, which telescope), and every zone's midnight falls on a 5-minute boundary.

Both shapes end in the same assembly: per-bucket JSON built with window functions and
``jsonb_*_agg``. Buckets: ``date_bin`` on the Unix epoch for 5 minutes and hours, the guild's
local day (``AT TIME ZONE``) for days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connection

from guilds.models import Guild
from stats.processing.voice import session_cap
from stats.rollups.assembly import ASSEMBLY

if TYPE_CHECKING:
    from stats.rollups.buckets import Granularity

# Whole seconds since the epoch, instants rounded half up at millisecond precision: the same
# arithmetic as stats.processing.counting.second_mark.
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


def _voice_buckets(granularity: Granularity) -> str:
    """A LATERAL source of (bstart, bend) for every bucket that session ``v`` overlaps."""
    if granularity.size is not None:
        step = f"interval '{int(granularity.size.total_seconds())} seconds'"
        return (
            f"SELECT gs AS bstart, gs + {step} AS bend FROM generate_series("
            f"date_bin({step}, greatest(v.s, %(lo)s), {ORIGIN}), "
            f"least(v.t, %(until)s) - interval '1 microsecond', {step}) gs"
        )
    return (
        "SELECT d AT TIME ZONE v.zone AS bstart, "
        "(d + interval '1 day') AT TIME ZONE v.zone AS bend "
        "FROM generate_series(date_trunc('day', greatest(v.s, %(lo)s) AT TIME ZONE v.zone), "
        "(least(v.t, %(until)s) - interval '1 microsecond') AT TIME ZONE v.zone, "
        "interval '1 day') d"
    )


def compute(
    granularity: Granularity,
    after: datetime,
    until: datetime,
    now: datetime,
    guild_ids: Sequence[int] | None,
) -> int:
    """Insert the snapshots of the buckets ending in (after, until]; return the row count."""
    params = {
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
    if granularity.size is not None and granularity.size <= PART_SIZE:
        sources = _from_events(granularity, only)
    else:
        sources = _from_parts(granularity, only)
    with connection.cursor() as cursor:
        # In-memory aggregation over a range's few hundred thousand rows.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        if sources.startswith(PARTS_WRITTEN):
            # The raw events join small per-guild tables (settings, bots, excluded channels):
            # hash joins. The planner's estimates for the CTEs are poor, and it otherwise picks
            # merge joins that sort the range's events over and over.
            cursor.execute("SET LOCAL enable_mergejoin = off")
            for table in ("rollup_members", "rollup_channels", "rollup_counts"):
                cursor.execute(
                    f"DELETE FROM {table} p WHERE p.bucket_start >= %(after)s "
                    f"AND p.bucket_start < %(until)s{only.format(a='p')}",
                    params,
                )
        cursor.execute(sources + ASSEMBLY, params)
        return cursor.rowcount


_ZONES: list[str] = []


def _known_zones() -> list[str]:
    """PostgreSQL's time zone names, read once per process: a guild whose zone PostgreSQL does
    not know (a row stored before the admin's validator) is counted in UTC. Reading
    ``pg_timezone_names`` in every statement cost 40 ms, a sixth of a 5-minute bucket's fill."""
    if not _ZONES:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_timezone_names")
            _ZONES.extend(sorted(row[0] for row in cursor.fetchall()))
    return _ZONES


PART_SIZE = timedelta(minutes=5)
PARTS_WRITTEN = "-- writes parts\n"

SETTINGS = f"""
settings AS (
  SELECT guild_id, count_bots,
         CASE WHEN timezone = ANY(%(zones)s) THEN timezone ELSE 'UTC' END AS zone,
         excluded_channel_ids
  FROM {Guild._meta.db_table}
)"""


def _from_events(granularity: Granularity, only: str) -> str:
    """CTEs members, channels, types, emojis, totals of 5-minute buckets, from raw events,
    voice sessions and bot snapshot rows; they are also written as parts."""
    ev_start, ev_end = _bounds(granularity, "e.timestamp", "z.zone")
    sa_start, sa_end = _bounds(granularity, "sa.period_start", "z.zone")
    return f"""{PARTS_WRITTEN}WITH
{SETTINGS},
excluded AS (
  SELECT DISTINCT s.guild_id, x.value::bigint AS channel_id
  FROM settings s,
       jsonb_array_elements_text(CASE WHEN jsonb_typeof(s.excluded_channel_ids) = 'array'
                                      THEN s.excluded_channel_ids ELSE '[]' END) x
  WHERE x.value ~ '^[0-9]{{1,18}}$'
),
bots AS (SELECT guild_id, user_id FROM member_stats WHERE is_bot),
ev AS (
  SELECT e.guild_id, {ev_start} AS bstart, {ev_end} AS bend, e.type, e.user_id, e.channel_id,
         (e.user_id IS NOT NULL
          AND ((e.type = 'MESSAGE_CREATE' AND e.channel_id IS NOT NULL)
               OR e.type = 'MESSAGE_REACTION_ADD')
          AND (coalesce(z.count_bots, false) OR b.user_id IS NULL)
          AND x.channel_id IS NULL
          AND (a.snapshots_since IS NULL OR e.timestamp < a.snapshots_since)) AS counted,
         CASE WHEN e.type = 'MESSAGE_REACTION_ADD' THEN
           left(CASE jsonb_typeof(e.data -> 'emoji')
             WHEN 'string' THEN nullif(e.data ->> 'emoji', '')
             WHEN 'object' THEN coalesce(nullif(e.data -> 'emoji' ->> 'name', ''),
                                         nullif(e.data -> 'emoji' ->> 'id', ''))
           END, 100)
         END AS emoji
  FROM events e
  LEFT JOIN settings z ON z.guild_id = e.guild_id
  LEFT JOIN bots b ON b.guild_id = e.guild_id AND b.user_id = e.user_id
  LEFT JOIN excluded x ON x.guild_id = e.guild_id AND x.channel_id = e.channel_id
  LEFT JOIN activity_sources a ON a.guild_id = e.guild_id
  WHERE e.timestamp >= %(lo)s AND e.timestamp < %(until)s{only.format(a="e")}
    AND e.type <> 'COLLECTOR_HEARTBEAT'
),
grouped AS (
  SELECT guild_id, bstart, bend, type, user_id, channel_id, emoji,
         GROUPING(type, user_id, channel_id, emoji) AS grp,
         count(*) AS n,
         count(*) FILTER (WHERE counted AND type = 'MESSAGE_CREATE') AS messages,
         count(*) FILTER (WHERE counted AND type = 'MESSAGE_REACTION_ADD') AS reactions
  FROM ev
  WHERE bend > %(after)s AND bend <= %(until)s
  GROUP BY guild_id, bstart, bend, GROUPING SETS ((type), (user_id), (channel_id), (emoji))
),
sessions AS (
  SELECT guild_id, user_id, channel_id, started_at AS s, ended_at AS t
  FROM voice_session_log l
  WHERE started_at < %(until)s AND ended_at > %(lo)s{only.format(a="l")}
  UNION ALL
  SELECT guild_id, user_id, channel_id, joined_at, least(%(now)s, joined_at + %(cap)s)
  FROM voice_sessions o
  WHERE joined_at < %(until)s{only.format(a="o")}
),
counted_sessions AS (
  SELECT v.guild_id, v.user_id, v.channel_id, v.s,
         CASE WHEN a.snapshots_since IS NULL THEN v.t ELSE least(v.t, a.snapshots_since) END AS t,
         coalesce(z.zone, 'UTC') AS zone
  FROM sessions v
  LEFT JOIN settings z ON z.guild_id = v.guild_id
  LEFT JOIN bots b ON b.guild_id = v.guild_id AND b.user_id = v.user_id
  LEFT JOIN excluded x ON x.guild_id = v.guild_id AND x.channel_id = v.channel_id
  LEFT JOIN activity_sources a ON a.guild_id = v.guild_id
  WHERE (coalesce(z.count_bots, false) OR b.user_id IS NULL) AND x.channel_id IS NULL
),
voice AS (
  SELECT v.guild_id, v.user_id, v.channel_id, k.bstart, k.bend,
         {MARK.format(t="least(v.t, k.bend)")} - {MARK.format(t="greatest(v.s, k.bstart)")}
           AS seconds
  FROM counted_sessions v, LATERAL ({_voice_buckets(granularity)}) k
  WHERE v.t > v.s AND v.t > %(lo)s AND k.bend > %(after)s AND k.bend <= %(until)s
),
snap AS (
  SELECT sa.guild_id, {sa_start} AS bstart, {sa_end} AS bend, sa.user_id, sa.channel_id,
         sa.emoji, sa.messages, sa.voice_seconds, sa.reactions
  FROM snapshot_activity sa
  LEFT JOIN settings z ON z.guild_id = sa.guild_id
  WHERE sa.period_start >= %(lo)s AND sa.period_start < %(until)s{only.format(a="sa")}
),
snap_in AS (SELECT * FROM snap WHERE bend > %(after)s AND bend <= %(until)s),
members AS (
  SELECT guild_id, bstart, bend, user_id, sum(m) AS m, sum(r) AS r, sum(v) AS v
  FROM (
    SELECT guild_id, bstart, bend, user_id, messages AS m, reactions AS r, 0 AS v
    FROM grouped WHERE grp = 11 AND user_id IS NOT NULL
    UNION ALL
    SELECT guild_id, bstart, bend, user_id, 0, 0, seconds FROM voice
    UNION ALL
    SELECT guild_id, bstart, bend, user_id, messages, reactions, voice_seconds
    FROM snap_in WHERE user_id IS NOT NULL
  ) u
  GROUP BY guild_id, bstart, bend, user_id
  HAVING sum(m) + sum(r) + sum(v) > 0
),
channels AS (
  SELECT guild_id, bstart, bend, channel_id, sum(m) AS m, sum(v) AS v
  FROM (
    SELECT guild_id, bstart, bend, channel_id, messages AS m, 0 AS v
    FROM grouped WHERE grp = 13 AND channel_id IS NOT NULL
    UNION ALL
    SELECT guild_id, bstart, bend, channel_id, 0, seconds FROM voice
    UNION ALL
    SELECT guild_id, bstart, bend, channel_id, messages, voice_seconds
    FROM snap_in WHERE channel_id IS NOT NULL
  ) u
  GROUP BY guild_id, bstart, bend, channel_id
  HAVING sum(m) + sum(v) > 0
),
types AS (SELECT guild_id, bstart, bend, type AS key, n FROM grouped WHERE grp = 7),
emojis AS (
  SELECT guild_id, bstart, bend, key, sum(n) AS n
  FROM (
    SELECT guild_id, bstart, bend, emoji AS key, reactions AS n
    FROM grouped WHERE grp = 14 AND emoji IS NOT NULL
    UNION ALL
    SELECT guild_id, bstart, bend, emoji, reactions FROM snap_in WHERE emoji <> ''
  ) u
  GROUP BY guild_id, bstart, bend, key
  HAVING sum(n) > 0
),
totals AS (
  SELECT guild_id, bstart, bend, sum(m) AS m, sum(v) AS v, sum(r) AS r
  FROM (
    SELECT guild_id, bstart, bend, messages AS m, 0 AS v, reactions AS r
    FROM grouped WHERE grp = 11
    UNION ALL
    SELECT guild_id, bstart, bend, 0, seconds, 0 FROM voice
    UNION ALL
    SELECT guild_id, bstart, bend, messages, voice_seconds, reactions FROM snap_in
    WHERE user_id IS NULL AND channel_id IS NULL AND emoji = ''
  ) u
  GROUP BY guild_id, bstart, bend
),
write_members AS (
  INSERT INTO rollup_members (guild_id, bucket_start, user_id, messages, reactions,
                              voice_seconds)
  SELECT guild_id, bstart, user_id, m, r, v FROM members
),
write_channels AS (
  INSERT INTO rollup_channels (guild_id, bucket_start, channel_id, messages, voice_seconds)
  SELECT guild_id, bstart, channel_id, m, v FROM channels
),
write_counts AS (
  INSERT INTO rollup_counts (guild_id, bucket_start, kind, key, n)
  SELECT guild_id, bstart, 'type', key, n FROM types
  UNION ALL
  SELECT guild_id, bstart, 'emoji', key, n FROM emojis
),"""


def _from_parts(granularity: Granularity, only: str) -> str:
    """CTEs members, channels, types, emojis, totals of hourly or daily buckets, summed from the
    5-minute parts and totals.

    Hours read every guild's parts of the range. Days are driven by the guilds whose local day
    ends in the range (``days``): their parts are read by the (guild, bucket) index, so a run
    every 15 minutes reads only the guilds whose midnight just passed, once each.
    """
    if granularity.size is not None:
        span, end = _bounds(granularity, "p.bucket_start", "")
        snap_span, snap_end = _bounds(granularity, "p.period_start", "")

        def rows(table: str, time_column: str, extra: str = "") -> str:
            start, stop = (span, end) if time_column == "bucket_start" else (snap_span, snap_end)
            return (
                f"SELECT p.*, {start} AS bstart, {stop} AS bend FROM {table} p "
                f"WHERE p.{time_column} >= %(after)s AND p.{time_column} < %(until)s"
                f"{only.format(a='p')}{extra}"
            )

        days = ""
    else:

        def rows(table: str, time_column: str, extra: str = "") -> str:
            return (
                f"SELECT p.*, d.bstart, d.bend FROM days d JOIN {table} p "
                f"ON p.guild_id = d.guild_id AND p.{time_column} >= d.bstart "
                f"AND p.{time_column} < d.bend{extra}"
            )

        local_end = "((d + interval '1 day') AT TIME ZONE s.zone)"
        days = f"""
days AS (
  SELECT s.guild_id, d AT TIME ZONE s.zone AS bstart, {local_end} AS bend
  FROM settings s,
       generate_series(date_trunc('day', (%(after)s - interval '1 day') AT TIME ZONE s.zone),
                       %(until)s AT TIME ZONE s.zone, interval '1 day') d
  WHERE {local_end} > %(after)s AND {local_end} <= %(until)s{only.format(a="s")}
),"""

    def parts(table: str, keys: str, sums: str, extra: str = "") -> str:
        return f"""
  SELECT guild_id, bstart, bend, {keys}, {sums}
  FROM ({rows(table, "bucket_start", extra)}) p
  GROUP BY guild_id, bstart, bend, {keys}"""

    return f"""WITH
{SETTINGS},{days}
members AS ({
        parts(
            "rollup_members",
            "user_id",
            "sum(messages) AS m, sum(reactions) AS r, sum(voice_seconds) AS v",
        )
    }
),
channels AS ({parts("rollup_channels", "channel_id", "sum(messages) AS m, sum(voice_seconds) AS v")}
),
types AS ({parts("rollup_counts", "key", "sum(n) AS n", " AND p.kind = 'type'")}
),
emojis AS ({parts("rollup_counts", "key", "sum(n) AS n", " AND p.kind = 'emoji'")}
),
totals AS (
  SELECT guild_id, bstart, bend, sum(total_messages) AS m, sum(total_voice_seconds) AS v,
         sum(total_reactions) AS r
  FROM ({rows("metrics_snapshots", "period_start", " AND p.period_type = '5min'")}) p
  GROUP BY guild_id, bstart, bend
),"""
