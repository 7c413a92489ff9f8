"""The end of every rollup statement (``engine_sql``): per-bucket JSON built with window
functions and ``jsonb_*_agg`` from the CTEs members, channels, types, emojis and totals, inserted
as ``metrics_snapshots`` rows."""

TOP = 10
# metrics_snapshots' totals are 32-bit (a compressed hypertable's columns cannot be widened):
# a bucket whose bot snapshots add up past that saturates there (the counters are 64-bit).
INT_MAX = 2**31 - 1

ASSEMBLY = f"""
types_json AS (
  SELECT guild_id, bstart, bend, jsonb_object_agg(key, n) AS j
  FROM types GROUP BY guild_id, bstart, bend
),
members_json AS (
  SELECT guild_id, bstart, bend, count(*) AS active,
         jsonb_agg(jsonb_build_object('userId', user_id::text, 'messages', m, 'reactions', r,
                                      'voiceSeconds', v) ORDER BY rank)
           FILTER (WHERE rank <= {TOP}) AS j
  FROM (
    SELECT *, row_number() OVER (PARTITION BY guild_id, bstart
                                 ORDER BY m + r DESC, v DESC, user_id) AS rank
    FROM members
  ) ranked
  GROUP BY guild_id, bstart, bend
),
channels_json AS (
  SELECT guild_id, bstart, bend,
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
emojis_json AS (
  SELECT guild_id, bstart, bend, jsonb_object_agg(key, n) AS j
  FROM emojis GROUP BY guild_id, bstart, bend
),
buckets AS (
  SELECT guild_id, bstart, bend FROM types_json
  UNION SELECT guild_id, bstart, bend FROM members_json
  UNION SELECT guild_id, bstart, bend FROM totals WHERE m + v + r > 0
)
INSERT INTO metrics_snapshots (guild_id, period_type, period_start, period_end, total_messages,
                               total_voice_seconds, total_reactions, unique_active_users, data,
                               created_at)
SELECT k.guild_id, %(period_type)s, k.bstart, k.bend,
       least(coalesce(t.m, 0), {INT_MAX}), least(coalesce(t.v, 0), {INT_MAX}),
       least(coalesce(t.r, 0), {INT_MAX}), coalesce(mj.active, 0),
       jsonb_build_object(
         'countsByType', coalesce(tj.j, '{{}}'),
         'topChannels', coalesce(cj.top, '[]'),
         'topMembers', coalesce(mj.j, '[]'),
         'voiceSecondsByChannel', coalesce(cj.voice, '{{}}'),
         'reactionsByEmoji', coalesce(ej.j, '{{}}')),
       now()
FROM buckets k
LEFT JOIN totals t USING (guild_id, bstart, bend)
LEFT JOIN types_json tj USING (guild_id, bstart, bend)
LEFT JOIN members_json mj USING (guild_id, bstart, bend)
LEFT JOIN channels_json cj USING (guild_id, bstart, bend)
LEFT JOIN emojis_json ej USING (guild_id, bstart, bend)
"""
