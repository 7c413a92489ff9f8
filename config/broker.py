"""The Celery brokers: kombu's filesystem transport without its two write races (embedded
default), and kombu's Redis transport that survives Celery 5.7's reconnect (``RedisTransport``).

Without Redis (``make run``'s embedded default) the web process, the worker and Beat share
queues through files under ``var/broker``. Why this transport: it needs no server and no extra
package, survives restarts of any process (a message is a file), and is kombu's own. Its
alternatives were worse here: kombu's SQLAlchemy transport on SQLite adds a dependency and
fails with "database is locked" under concurrent writers; an in-memory transport cannot cross
processes.

Kombu 5.7's filesystem transport writes a message by creating the file and then writing it, and
creates an exchange's binding table the same way. A reader that lists the folder in between
reads an empty file and raises ``JSONDecodeError``: Beat or the worker died of it after a few
minutes of ``make run`` (issue 8). Here a message is written to a hidden temporary name and
renamed into place (``os.replace`` is atomic on POSIX), a binding table is created with
``os.link`` (atomic, and it fails rather than overwrites when another process won the race),
and a message that still cannot be decoded (left by an old version) is dropped with a warning
instead of killing the consumer: the ingest sweeper re-enqueues any batch whose task was lost.
Checked by the 30-minute soak (``bench/soak_embedded.py``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)

# kombu's transports are untyped (pyproject.toml allows calling them here), and its filesystem
# channel's _put and _get do not match AbstractChannel's (the override ignores: ours keep the
# filesystem's)


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # a leading dot keeps the partial file out of _get's "<stamp>.<queue>.msg" match
        temp = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(temp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(temp, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str) -> Any:  # type: ignore[override]
        while True:
            try:
                return super()._get(queue)
            except ValueError:  # an undecodable message (JSONDecodeError): drop it, go on
                log.warning("dropped an undecodable message from queue %s", queue)

    def get_table(self, exchange: str) -> list[Any]:
        try:
            table: list[Any] = super().get_table(exchange)
            return table
        except ValueError:  # a table left empty by an older version's interrupted write
            return []

    def _queue_bind(
        self, exchange: str, routing_key: str | None, pattern: str | None, queue: str | None
    ) -> None:
        file: Path = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        if not file.exists():
            row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
            fd, temp = tempfile.mkstemp(dir=self.control_folder, prefix=".bind-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(str_to_bytes(dumps([row])))
                os.link(temp, file)
                return
            except FileExistsError:
                pass  # another process created it first: add our row under its lock
            finally:
                os.unlink(temp)
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel


class DetachedRedisChannel(redis.Channel):
    """Kombu's Redis channel, reporting a lost connection when its transport is already gone.

    Celery 5.7's handler for a lost broker connection first ``collect()``s the connection (which
    detaches the transport: ``transport.client = None``) and then closes it again. When the
    second close still finds the channel open with unacknowledged messages, kombu tries to build
    a new Redis pool from the detached client and raises ``AttributeError``; Celery only ignores
    connection errors, so the worker exited during a Redis outage (the outage test caught it, one
    run in a few). A connection error here lets Celery go on reconnecting; the unacknowledged
    messages stay in Redis's unacked index, which kombu restores after the visibility timeout,
    and the ingest sweeper re-enqueues any batch whose task was lost meanwhile.
    """

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise ConnectionError("the broker connection is closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        return params


class RedisTransport(redis.Transport):
    Channel = DetachedRedisChannel
