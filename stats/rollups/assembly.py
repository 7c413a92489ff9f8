"""The end of every rollup statement (``engine_sql``): from the CTEs ``members``, ``channels``,
``types``, ``emojis`` and ``totals`` (one row per guild, bucket and key), one row per bucket
(``buckets``: the sums, the top tens as JSON and, in 5-minute statements, every key and sum as
arrays: the parts that hours and days are summed from), inserted as ``metrics_snapshots`` rows.

Each per-key CTE is reduced to one row per bucket by a single aggregation that yields both its
JSON and its arrays. The top tens are ranked by a window over the same rows; the arrays need no
order (a longer bucket unnests and ranks them again)."""

TOP = 10
# metrics_snapshots' totals are 32-bit (a compressed hypertable's columns cannot be widened):
# a bucket whose bot snapshots add up past that saturates there (the counters are 64-bit).
INT_MAX = 2**31 - 1

# Only 5-minute statements keep their buckets' keys and sums (see ``stats.models.BucketParts``).
WRITE_PARTS = """,
write_parts AS (
  INSERT INTO rollup_parts (guild_id, bucket_start, total_messages, total_voice_seconds,
                            total_reactions, member_ids, member_messages, member_reactions,
                            member_voice, channel_ids, channel_messages, channel_voice,
                            type_keys, type_counts, emoji_keys, emoji_counts)
  SELECT guild_id, bstart, m, v, r, coalesce(member_ids, '{}'), coalesce(member_messages, '{}'),
         coalesce(member_reactions, '{}'), coalesce(member_voice, '{}'),
         coalesce(channel_ids, '{}'), coalesce(channel_messages, '{}'),
         coalesce(channel_voice, '{}'), coalesce(type_keys, '{}'), coalesce(type_counts, '{}'),
         coalesce(emoji_keys, '{}'), coalesce(emoji_counts, '{}')
  FROM buckets
)"""

INSERT = f"""
INSERT INTO metrics_snapshots (guild_id, period_type, period_start, period_end, total_messages,
                               total_voice_seconds, total_reactions, unique_active_users, data,
                               created_at)
SELECT guild_id, %(period_type)s, bstart, bend,
       least(m, {INT_MAX}), least(v, {INT_MAX}), least(r, {INT_MAX}), active,
       jsonb_build_object(
         'countsByType', coalesce(by_type, '{{}}'),
         'topChannels', coalesce(top_channels, '[]'),
         'topMembers', coalesce(top_members, '[]'),
         'voiceSecondsByChannel', coalesce(voice_by_channel, '{{}}'),
         'reactionsByEmoji', coalesce(by_emoji, '{{}}')),
       now()
FROM buckets
"""


def buckets(*, arrays: bool) -> str:
    """The per-bucket rows. Their key and sum arrays are aggregated only when ``arrays`` (the
    5-minute statements, which keep them as parts); otherwise those columns are null."""

    def agg(column: str, name: str) -> str:
        return f"array_agg({column}) AS {name}" if arrays else f"NULL::int[] AS {name}"

    return f"""
member_rows AS (
  SELECT guild_id, bstart, bend, count(*) AS active,
         {agg("user_id", "member_ids")}, {agg("m", "member_messages")},
         {agg("r", "member_reactions")}, {agg("v", "member_voice")},
         jsonb_agg(jsonb_build_object('userId', user_id::text, 'messages', m, 'reactions', r,
                                      'voiceSeconds', v) ORDER BY rank)
           FILTER (WHERE rank <= {TOP}) AS top
  FROM (
    SELECT *, row_number() OVER (PARTITION BY guild_id, bstart
                                 ORDER BY m + r DESC, v DESC, user_id) AS rank
    FROM members
  ) ranked
  GROUP BY guild_id, bstart, bend
),
channel_rows AS (
  SELECT guild_id, bstart, bend,
         {agg("channel_id", "channel_ids")}, {agg("m", "channel_messages")},
         {agg("v", "channel_voice")},
         jsonb_agg(jsonb_build_object('channelId', channel_id::text, 'messages', m,
                                      'voiceSeconds', v) ORDER BY rank)
           FILTER (WHERE rank <= {TOP}) AS top,
         jsonb_object_agg(channel_id::text, v) FILTER (WHERE v > 0) AS voice
  FROM (
    SELECT *, row_number() OVER (PARTITION BY guild_id, bstart
                                 ORDER BY m DESC, v DESC, channel_id) AS rank
    FROM channels
  ) ranked
  GROUP BY guild_id, bstart, bend
),
type_rows AS (
  SELECT guild_id, bstart, bend, {agg("key", "type_keys")}, {agg("n", "type_counts")},
         jsonb_object_agg(key, n) AS j
  FROM types GROUP BY guild_id, bstart, bend
),
emoji_rows AS (
  SELECT guild_id, bstart, bend, {agg("key", "emoji_keys")}, {agg("n", "emoji_counts")},
         jsonb_object_agg(key, n) AS j
  FROM emojis GROUP BY guild_id, bstart, bend
),
buckets AS (
  SELECT k.guild_id, k.bstart, k.bend, coalesce(t.m, 0) AS m, coalesce(t.v, 0) AS v,
         coalesce(t.r, 0) AS r, coalesce(mr.active, 0) AS active,
         mr.member_ids, mr.member_messages, mr.member_reactions, mr.member_voice,
         mr.top AS top_members,
         cr.channel_ids, cr.channel_messages, cr.channel_voice, cr.top AS top_channels,
         cr.voice AS voice_by_channel,
         tr.type_keys, tr.type_counts, tr.j AS by_type,
         er.emoji_keys, er.emoji_counts, er.j AS by_emoji
  FROM (
    SELECT guild_id, bstart, bend FROM type_rows
    UNION SELECT guild_id, bstart, bend FROM member_rows
    UNION SELECT guild_id, bstart, bend FROM totals WHERE m + v + r > 0
  ) k
  LEFT JOIN totals t USING (guild_id, bstart, bend)
  LEFT JOIN member_rows mr USING (guild_id, bstart, bend)
  LEFT JOIN channel_rows cr USING (guild_id, bstart, bend)
  LEFT JOIN type_rows tr USING (guild_id, bstart, bend)
  LEFT JOIN emoji_rows er USING (guild_id, bstart, bend)
)"""


def assembly(*, write_parts: bool) -> str:
    """The statement's end: the per-bucket rows, the parts (5-minute statements), the insert."""
    return buckets(arrays=write_parts) + (WRITE_PARTS if write_parts else "") + INSERT
