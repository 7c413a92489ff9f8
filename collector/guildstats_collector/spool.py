"""The write-ahead spool: every event is in SQLite before it is sent, and leaves only when an ack
covers it (accepted or duplicate) or, rejected, for the dead-letter table with the server's reason.

Seed 001 kept a SQLite *backup* written only while the gateway was offline, and deleted replayed
rows before knowing they had arrived; a crash between the two lost them. Here the spool is the
only path to the server: a restart, a crash or a disconnect leaves the unacknowledged events in it,
and they are sent again oldest first (the server's dedupe by client ``id`` makes that harmless).

Caps (events, bytes, age) keep a long outage from filling the disk; what a cap removes is counted
per reason and type in ``drops`` and logged, never dropped silently.

SQLite in WAL mode with ``synchronous=NORMAL``: a committed event survives a crash of the
process (not necessarily a power cut of the machine, which would also lose the gateway's events).
The stdlib ``sqlite3`` is the library here: a spool is one table, no ORM is worth its weight.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    spooled_at REAL NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    reason TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drops (
    reason TEXT NOT NULL,
    type TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (reason, type)
);
"""


@dataclass(frozen=True)
class SpooledEvent:
    seq: int
    type: str
    body: bytes


class Spool:
    def __init__(
        self,
        path: str,
        *,
        max_events: int = 2_000_000,
        max_bytes: int = 1024**3,
        max_age: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._clock = clock
        # one connection, used from the event loop's thread and, in the benchmark's replay, from
        # a worker thread: a lock keeps every statement whole
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        count, size = self._db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM events"
        ).fetchone()
        self.count: int = count
        self.bytes: int = size

    # --- writes ---------------------------------------------------------------------------------
    def append(self, events: Sequence[tuple[str, bytes]]) -> None:
        """Store events (type, JSON body) in one transaction, then enforce the caps."""
        if not events:
            return
        now = self._clock()
        rows = [(kind, now, len(body), body) for kind, body in events]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO events (type, spooled_at, size, body) VALUES (?, ?, ?, ?)", rows
                )
                self.count += len(rows)
                self.bytes += sum(row[2] for row in rows)
                self._enforce_caps_locked()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._recount_locked()
                raise

    def acknowledge(self, events: Sequence[SpooledEvent], rejected: dict[int, str]) -> None:
        """An ack covered ``events``: the rejected ones (index in ``events`` → the server's reason)
        move to ``dead_letters``, all of them leave the spool, in one transaction."""
        if not events:
            return
        now = self._clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if rejected:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO dead_letters (seq, type, body, reason, failed_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        [
                            (events[i].seq, events[i].type, events[i].body, reason, now)
                            for i, reason in rejected.items()
                        ],
                    )
                self._delete_locked([event.seq for event in events])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._recount_locked()
                raise

    def dead_letter(self, events: Iterable[SpooledEvent], reason: str) -> None:
        events = list(events)
        self.acknowledge(events, dict.fromkeys(range(len(events)), reason))

    def dead_letter_unsent(self, kind: str, body: bytes, reason: str) -> None:
        """An event that can never be sent (larger than a frame may be): straight to the
        dead letters, with the reason."""
        with self._lock:
            self._db.execute(
                "INSERT INTO dead_letters (type, body, reason, failed_at) VALUES (?, ?, ?, ?)",
                (kind, body, reason, self._clock()),
            )

    def expire(self) -> int:
        """Drop events older than the age cap (counted); returns how many."""
        cutoff = self._clock() - self.max_age
        with self._lock:
            rows = self._db.execute(
                "SELECT type, count(*) FROM events WHERE spooled_at < ? GROUP BY type", (cutoff,)
            ).fetchall()
            if not rows:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM events WHERE spooled_at < ?", (cutoff,))
            self._count_drops_locked("max_age", rows)
            self._db.execute("COMMIT")
            self._recount_locked()
        dropped = sum(int(n) for _, n in rows)
        log.warning("spool: dropped %s events older than %.0f h", dropped, self.max_age / 3600)
        return dropped

    # --- reads ----------------------------------------------------------------------------------
    def oldest(self, limit: int, max_bytes: int) -> list[SpooledEvent]:
        """The oldest events, at most ``limit`` and ``max_bytes`` in all (at least one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, type, body FROM events ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        taken: list[SpooledEvent] = []
        total = 0
        for seq, kind, body in rows:
            total += len(body) + 1
            if taken and total > max_bytes:
                break
            taken.append(SpooledEvent(seq, kind, bytes(body)))
        return taken

    # --- what the collector remembers across restarts ------------------------------------------
    def remember(self, key: str, value: int) -> None:
        """Keep ``value`` under ``key`` (e.g. the last heartbeat, the start of the next gap)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def recall(self, key: str) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def dead_letters(self, limit: int = 100) -> list[tuple[int, str, str, bytes]]:
        with self._lock:
            return self._db.execute(
                "SELECT seq, type, reason, body FROM dead_letters ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()

    def drops(self) -> dict[tuple[str, str], int]:
        with self._lock:
            rows = self._db.execute("SELECT reason, type, count FROM drops").fetchall()
        return {(reason, kind): count for reason, kind, count in rows}

    def stats(self) -> dict[str, int]:
        with self._lock:
            dead = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
            dropped = self._db.execute("SELECT coalesce(sum(count), 0) FROM drops").fetchone()[0]
        return {"events": self.count, "bytes": self.bytes, "deadLetters": dead, "dropped": dropped}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- internals (hold the lock) --------------------------------------------------------------
    def _delete_locked(self, seqs: list[int]) -> None:
        # frames are runs of consecutive rows: delete by range when they are, else by key
        placeholders_max = 500
        if seqs == list(range(seqs[0], seqs[0] + len(seqs))):
            cur = self._db.execute(
                "DELETE FROM events WHERE seq BETWEEN ? AND ? RETURNING size", (seqs[0], seqs[-1])
            )
            sizes = cur.fetchall()
        else:
            sizes = []
            for i in range(0, len(seqs), placeholders_max):
                part = seqs[i : i + placeholders_max]
                marks = ",".join("?" * len(part))
                sizes += self._db.execute(
                    f"DELETE FROM events WHERE seq IN ({marks}) RETURNING size", part
                ).fetchall()
        self.count -= len(sizes)
        self.bytes -= sum(size for (size,) in sizes)

    def _enforce_caps_locked(self) -> None:
        over_count = self.count - self.max_events
        if over_count <= 0 and self.bytes <= self.max_bytes:
            return
        # drop the oldest events until both caps hold
        cutoff_seq = None
        if over_count > 0:
            row = self._db.execute(
                "SELECT seq FROM events ORDER BY seq LIMIT 1 OFFSET ?", (over_count - 1,)
            ).fetchone()
            cutoff_seq = row[0]
        if self.bytes > self.max_bytes:
            excess = self.bytes - self.max_bytes
            running = 0
            for seq, size in self._db.execute("SELECT seq, size FROM events ORDER BY seq"):
                running += size
                if running >= excess:
                    cutoff_seq = max(cutoff_seq or seq, seq)
                    break
        if cutoff_seq is None:
            return
        rows = self._db.execute(
            "SELECT type, count(*) FROM events WHERE seq <= ? GROUP BY type", (cutoff_seq,)
        ).fetchall()
        reason = "max_events" if over_count > 0 else "max_bytes"
        self._db.execute("DELETE FROM events WHERE seq <= ?", (cutoff_seq,))
        self._count_drops_locked(reason, rows)
        self._recount_locked()
        log.warning(
            "spool full (%s): dropped the %s oldest events", reason, sum(n for _, n in rows)
        )

    def _count_drops_locked(self, reason: str, rows: list[tuple[str, int]]) -> None:
        self._db.executemany(
            "INSERT INTO drops (reason, type, count) VALUES (?, ?, ?)"
            " ON CONFLICT (reason, type) DO UPDATE SET count = count + excluded.count",
            [(reason, kind, n) for kind, n in rows],
        )

    def _recount_locked(self) -> None:
        self.count, self.bytes = self._db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM events"
        ).fetchone()
