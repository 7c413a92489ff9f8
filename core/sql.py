"""Set-based writes that differ between PostgreSQL and SQLite, kept in one small module.

The ORM's ``bulk_create(update_conflicts=True)`` can only overwrite columns, while counters need
``col = col + excluded.col`` and timestamps need "the later of the two", so the upserts are
written here once per backend: PostgreSQL gets COPY into a staging table plus one
``INSERT … SELECT … ON CONFLICT`` statement, SQLite a multi-row ``VALUES`` list.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from django.db import connection
from psycopg.types.json import set_json_dumps

# SQLite allows 32766 bound parameters per statement since 3.32; stay well below (PostgreSQL's
# limit is 65535, so the same bound serves both).
SQLITE_MAX_PARAMS = 30000
# Below this many rows a plain multi-row VALUES statement beats COPY + INSERT … SELECT + TRUNCATE.
PG_COPY_MIN_ROWS = 50


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str  # bigint, integer, smallint, text, timestamptz, date, jsonb, boolean, uuid


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def greatest(a: str, b: str) -> str:
    """SQL for the later of two nullable values (PostgreSQL's GREATEST already skips NULLs)."""
    if is_postgres():
        return f"GREATEST({a}, {b})"
    return f"MAX(COALESCE({a}, {b}), COALESCE({b}, {a}))"


def bulk_insert(
    table: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] | None = None,
    updates: dict[str, str] | None = None,
    returning: str | None = None,
    conflicts_are_rare: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (tuples in ``columns`` order) in as few statements as the backend allows.

    ``conflict`` names the unique columns; with ``updates`` (column -> SQL expression, where
    ``excluded.col`` is the incoming value) the statement is an upsert, without it conflicting rows
    are skipped. Returns the ``returning`` column of every row actually inserted or updated.

    ``conflicts_are_rare`` (skipping inserts only, ``returning`` one of ``columns``): on
    PostgreSQL the rows are first copied straight into the table (see ``_copy_unless_conflict``).
    """
    if not rows:
        return []
    direct = conflicts_are_rare and conflict and not updates and len(rows) >= PG_COPY_MIN_ROWS
    if direct and is_postgres() and _copy_unless_conflict(table, columns, rows):
        if not returning:
            return []
        at = [c.name for c in columns].index(returning)
        return [(row[at],) for row in rows]
    names = ", ".join(c.name for c in columns)
    tail = ""
    if conflict:
        target = ", ".join(conflict)
        if updates:
            sets = ", ".join(f"{col} = {expr}" for col, expr in updates.items())
            tail = f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            tail = f" ON CONFLICT ({target}) DO NOTHING"
    if returning:
        tail += f" RETURNING {returning}"

    results: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if is_postgres() and len(rows) >= PG_COPY_MIN_ROWS:
            stage = _pg_stage(cursor, table, columns)
            _copy_rows(cursor, stage, columns, rows)
            # DELETE … RETURNING feeds the insert, so the stage is empty again within the same
            # statement (a second use in one transaction must not see these rows).
            cursor.execute(
                f"WITH moved AS (DELETE FROM {stage} RETURNING {names}) "
                f"INSERT INTO {table} ({names}) SELECT {names} FROM moved{tail}"
            )
            if returning:
                results.extend(cursor.fetchall())
            return results

        adapt = _value_adapters(columns)
        per_row = len(columns)
        chunk = max(1, SQLITE_MAX_PARAMS // per_row)
        if is_postgres():
            placeholder = "(" + ", ".join(f"%s::{c.pg_type}" for c in columns) + ")"
        else:
            placeholder = "(" + ", ".join(["%s"] * per_row) + ")"
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            values = ", ".join([placeholder] * len(part))
            params = [adapt[i](v) if adapt[i] else v for row in part for i, v in enumerate(row)]
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {values}{tail}", params)
            if returning:
                results.extend(cursor.fetchall())
    return results


def _copy_unless_conflict(
    table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
) -> bool:
    """COPY ``rows`` straight into ``table`` inside a savepoint; False, with nothing written,
    when one of them violates a unique index.

    For a table whose rows are nearly always new (a frame of bot events): one COPY is the
    cheapest way in, about half the server time of COPY into a staging table plus the
    ``INSERT … SELECT … ON CONFLICT DO NOTHING`` that moves the rows, and the unique index
    still decides, so a resent frame (or the same event twice in one) is rolled back to the
    savepoint and the caller takes the staged path, which skips exactly the rows that exist.
    A frame racing a copy of itself waits on the other's index entries, as ``ON CONFLICT``
    does, and then conflicts or not depending on whether the other committed.
    """
    from django.db import transaction
    from psycopg import errors

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _copy_rows(cursor, table, columns, rows)
    except errors.UniqueViolation:
        return False
    return True


def _copy_rows(
    cursor: Any, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]]
) -> None:
    """Binary COPY of ``rows`` into ``table`` (PostgreSQL)."""
    names = ", ".join(c.name for c in columns)
    raw_cursor = cursor.cursor
    set_json_dumps(_json_dumps, context=raw_cursor)
    with raw_cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([c.pg_type for c in columns])
        for row in rows:
            copy.write_row(row)


# Staging tables known up front, created once per database connection (see create_stages).
_STAGES: dict[str, Sequence[Column]] = {}


def register_stage(table: str, columns: Sequence[Column]) -> None:
    """Declare that ``bulk_insert`` will load ``columns`` of ``table`` (at import time)."""
    _STAGES[table] = tuple(columns)


def _stage_ddl(table: str, columns: Sequence[Column]) -> str:
    cols = ", ".join(f"{c.name} {c.pg_type}" for c in columns)
    return f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} ({cols}) ON COMMIT DELETE ROWS"


def create_stages(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` handler: make every registered staging table on a new connection.

    It runs before Django opens any transaction on the connection, so the tables exist for the
    session and no rollback can take them away; ``bulk_insert`` then skips its own check.
    """
    if connection.vendor != "postgresql":
        return
    raw = connection.connection
    if getattr(raw, "_guildstats_stages", None):
        return  # a pooled connection handed out again: its session still has them
    with raw.cursor() as cursor:
        for table, columns in _STAGES.items():
            cursor.execute(_stage_ddl(table, columns))
    raw._guildstats_stages = {(table, tuple(columns)) for table, columns in _STAGES.items()}


def _pg_stage(cursor: Any, table: str, columns: Sequence[Column]) -> str:
    """A session-private, index-free staging table shaped like ``columns`` of ``table``.

    Rows reach PostgreSQL through COPY (the fastest path in) and are then moved with one
    ``INSERT … SELECT … ON CONFLICT``; binding them as parameters costs several times more in
    client-side quoting, and binary COPY several times less again than text COPY.

    Emptying: ``ON COMMIT DELETE ROWS`` truncates the file in place at commit, while a TRUNCATE
    statement gives a temp table a new file and rewrites its catalog row every time (that cost
    more than the rows themselves for small batches).
    """
    made = getattr(connection.connection, "_guildstats_stages", ())
    if (table, tuple(columns)) not in made:
        # not registered, or registered after this connection opened: make sure it exists
        # (inside the current transaction, hence checked again next time)
        cursor.execute(_stage_ddl(table, columns))
    return f"stage_{table}"


def _json_dumps(value: Any) -> bytes:
    """jsonb values arrive already encoded (bytes) from the ingest; anything else is encoded."""
    return value if isinstance(value, bytes) else msgspec.json.encode(value)


def _value_adapters(columns: Sequence[Column]) -> list[Any]:
    """Per-column converters for bound parameters: jsonb arrives as encoded bytes; SQLite also
    needs Django's text form of dates and datetimes."""
    ops = connection.ops

    def adapt_datetime(value: Any) -> Any:
        return None if value is None else ops.adapt_datetimefield_value(value)

    def adapt_date(value: Any) -> Any:
        return None if value is None else ops.adapt_datefield_value(value)

    def adapt_json(value: Any) -> Any:
        return value.decode() if isinstance(value, bytes) else value

    if is_postgres():
        return [adapt_json if c.pg_type == "jsonb" else None for c in columns]
    table = {"timestamptz": adapt_datetime, "date": adapt_date, "jsonb": adapt_json}
    return [table.get(c.pg_type) for c in columns]


def tuples_filter(columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A WHERE fragment matching rows whose ``columns`` equal one of ``keys``, with its params."""
    if is_postgres():
        arrays = ", ".join(["%s::bigint[]"] * len(columns))
        cols = ", ".join(columns)
        return f"({cols}) IN (SELECT * FROM unnest({arrays}))", [
            list(c) for c in zip(*keys, strict=True)
        ]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    cols = ", ".join(columns)
    return f"({cols}) IN (VALUES {', '.join([row] * len(keys))})", [v for key in keys for v in key]


def try_lock(key: int, *, wait: bool, relax_durability: bool = False) -> bool:
    """Take a transaction-scoped lock on ``key``; False when ``wait`` is off and it is held.

    PostgreSQL uses an advisory lock. SQLite needs none: its transactions are IMMEDIATE (see
    config.database), so a second writer already waits at BEGIN.

    ``relax_durability`` (same round trip) lets the transaction's commit return before its WAL
    reaches disk. Safe for processing transactions, and only for them: a crash can lose the last
    few commits whole, never part of one, and a lost processing commit just leaves its batches
    pending (their raw events were committed durably before the ack), so they are applied again.
    Ingest commits stay synchronous: an ack promises durability.
    """
    if not is_postgres():
        return True
    relax = ", set_config('synchronous_commit', 'off', true)" if relax_durability else ""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute(f"SELECT pg_advisory_xact_lock(%s){relax}", [key])
            return True
        cursor.execute(f"SELECT pg_try_advisory_xact_lock(%s){relax}", [key])
        return bool(cursor.fetchone()[0])


@contextmanager
def session_lock(key: int, *, wait: bool = False) -> Iterator[bool]:
    """Hold a lock on ``key`` across several transactions; yields False when another session
    holds it (``wait``: waits for it instead). PostgreSQL: a session advisory lock, released on
    exit. Other databases: a Redis lock when Redis is configured (redis-py's token lock, which
    expires after an hour if its holder dies), else an exclusive lock on a file under the var
    directory (the embedded deployment runs on one machine)."""
    if not is_postgres():
        with _local_lock(key, wait=wait) as taken:
            yield taken
        return
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s), true", [key])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        taken = bool(cursor.fetchone()[-1])
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _local_lock(key: int, *, wait: bool) -> Iterator[bool]:
    from django.conf import settings

    if settings.REDIS_URL:
        from core.redis import redis_client

        client = redis_client(settings.REDIS_URL)
        lock = client.lock(f"guildstats:lock:{key:x}", timeout=3600)
        taken = lock.acquire(blocking=wait)
        try:
            yield taken
        finally:
            if taken:
                lock.release()
            client.close()
        return
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{key:x}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
