"""The Redis broker transport survives Celery 5.7's close of a connection Redis dropped."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue
from kombu.common import ignore_errors

from tests.outage.stack import PrivateRedis, StackUnavailable


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    try:
        server = PrivateRedis(Path(tempfile.mkdtemp(prefix="guildstats-broker-")))
    except StackUnavailable as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("transport", "survives"),
    [("config.broker:RedisTransport", True), ("redis", False)],
)
def test_closing_a_channel_after_its_transport_was_detached(
    private_redis: PrivateRedis, transport: str, survives: bool
):
    """What Celery 5.7 does when Redis goes away under a worker holding an unacked task: the
    connection is collected (its transport detached) and then closed; the channel, still open
    with the unacked message, is closed again. Kombu's own transport raises AttributeError there,
    which Celery does not ignore (the worker exited); ours reports a connection error."""
    connection = Connection(private_redis.url, transport=transport)
    queue = Queue("celery", Exchange("celery"), "celery")
    with connection.Producer() as producer:
        producer.publish(
            {"task": 1}, exchange=queue.exchange, routing_key="celery", declare=[queue]
        )
    channel = connection.default_channel
    message = queue(channel).get(no_ack=False)
    assert message is not None and message.payload == {"task": 1}
    assert len(channel.qos._delivered) == 1

    private_redis.stop()
    connection._do_close_transport()  # collect()'s last step, its channel close having failed
    assert channel.connection.client is None and not channel.closed

    if survives:
        ignore_errors(connection, channel.close)
        assert channel.closed
    else:
        with pytest.raises(AttributeError):
            ignore_errors(connection, channel.close)
