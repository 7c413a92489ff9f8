"""TimescaleDB, when present: the one module where the backends differ for storage upkeep.

With ``DATABASE_URL=timescale://…`` (django-timescaledb's engine), the migrations turn the raw
events and the snapshots into hypertables (``TimescaleDateTimeField``; 1-day chunks), and
``configure_compression`` (run by a migration) segments compressed chunks by guild. Our own Beat
schedule then does the upkeep — not TimescaleDB's job scheduler: ``compress_old_chunks``
compresses chunks older than ``GUILDSTATS_COMPRESS_AFTER_DAYS`` (7), and retention drops whole
chunks of raw events (``drop_chunks``) instead of deleting rows.

Everything here asks the database which tables are hypertables, so the same code runs on
plain PostgreSQL and SQLite, where it does nothing (retention then deletes in bounded batches).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

# (table, time column, segment-by columns for compression)
HYPERTABLES = {
    "events": ("timestamp", "guild_id"),
    "metrics_snapshots": ("period_start", "guild_id, period_type"),
}


def hypertables() -> set[str]:
    """Our tables that are hypertables in this database (none without TimescaleDB)."""
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        if cursor.fetchone() is None:
            return set()
        cursor.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables "
            "WHERE hypertable_name = ANY(%s)",
            [list(HYPERTABLES)],
        )
        return {row[0] for row in cursor.fetchall()}


def configure_compression() -> list[str]:
    """Enable compression, segmented by guild, on our hypertables; return their names."""
    tables = sorted(hypertables())
    with connection.cursor() as cursor:
        for table in tables:
            time_column, segment_by = HYPERTABLES[table]
            cursor.execute(
                f"ALTER TABLE {table} SET (timescaledb.compress, "
                f"timescaledb.compress_segmentby = '{segment_by}', "
                f"timescaledb.compress_orderby = '{time_column} DESC')"
            )
    return tables


def compress_old_chunks(older_than: datetime) -> dict[str, int]:
    """Compress every not yet compressed chunk that ended before ``older_than``."""
    compressed: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in sorted(hypertables()):
            cursor.execute(
                "SELECT count(compress_chunk(c, if_not_compressed => true)) "
                "FROM show_chunks(%s::regclass, older_than => %s) c",
                [table, older_than],
            )
            compressed[table] = cursor.fetchone()[0]
    return compressed


def droppable_until(table: str, cutoff: datetime) -> datetime | None:
    """The end of the newest chunk of ``table`` lying wholly before ``cutoff``: ``drop_chunks``
    with that bound drops exactly the rows older than it (None: no such chunk)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(range_end) FROM timescaledb_information.chunks "
            "WHERE hypertable_name = %s AND range_end <= %s",
            [table, cutoff],
        )
        until: datetime | None = cursor.fetchone()[0]
        return until


def drop_chunks(table: str, until: datetime) -> int:
    """Drop the chunks of ``table`` that end at or before ``until``; return how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM drop_chunks(%s::regclass, older_than => %s)", [table, until]
        )
        dropped: int = cursor.fetchone()[0]
        return dropped
