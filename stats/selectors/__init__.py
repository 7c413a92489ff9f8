"""Reads behind the stats API, split by reader: totals (dashboard, overview), members (the
member list and leaderboards), summaries (big guilds' precomputed rankings), series (activity)
and heatmap. Counters, daily counters and snapshots only, never raw events."""
