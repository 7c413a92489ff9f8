"""Stage 3, rollups: 5-minute, hourly and daily snapshots (``fill``), computed by set-based SQL on
PostgreSQL (``engine_sql``) or the Python reference (``engine_python``); retention and
TimescaleDB upkeep."""
