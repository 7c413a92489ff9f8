"""Directory benchmark (issue 24): the start-up directory of a 100,000-member guild, end to end
in one process on PostgreSQL: frames of ``GUILD_DIRECTORY`` chunks (1,000 members each, as the
collector sends them) through ingest (``pipeline.ingest.ingest_batch``) and processing
(``pipeline.drain.process_batches``), against the same path's own speed for plain events:
100,000 ``MESSAGE_CREATE`` of the same guild, measured in the same run.

    python bench/directory_bench.py [--members 100000]

Prints the seconds for the directory (target < 30 s), events/s for the messages, and the ratio
(directory entries/s over message events/s). Environment: BENCH_DATABASE_URL (server for the
scratch database guildstats_bench_directory).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_REDIS_URL, scratch_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    url = scratch_database("guildstats_bench_directory")
    os.environ.update(
        DATABASE_URL=url,
        REDIS_URL=BENCH_REDIS_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        GUILDSTATS_VAR_DIR=str(ROOT / "var" / "bench"),
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    import msgspec
    from django.core.management import call_command

    from devtools.names import directory_events
    from pipeline import drain, ingest
    from pipeline.models import IngestBatch

    call_command("migrate", verbosity=0)
    ingest.connect_processing(lambda ids: None)  # drained below, in this process
    rng = random.Random(7)
    next_id = iter(range(900_000_000_000_000_000, 10**19))

    def snowflake() -> str:
        return str(next(next_id))

    guild = snowflake()
    users = [snowflake() for _ in range(args.members)]
    now = int(time.time() * 1000)
    chunks = list(
        directory_events(rng, guild, now - 60_000, [snowflake()], [snowflake()], users, snowflake)
    )
    messages = [
        {
            "type": "MESSAGE_CREATE",
            "guildId": guild,
            "userId": rng.choice(users),
            "channelId": "900000000000000001",
            "timestamp": now - 30_000 + i // 10,
            "id": f"m{i}",
        }
        for i in range(args.members)
    ]

    def run(events: list[dict], per_frame: int) -> float:
        started = time.perf_counter()
        for start in range(0, len(events), per_frame):
            frame = msgspec.json.encode(events[start : start + per_frame])
            ingest.ingest_batch(frame, bot_token_id=None, transport="http")
        pending = list(
            IngestBatch.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
        )
        while pending:
            drain.process_batches(pending)
            pending = list(
                IngestBatch.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
            )
        return time.perf_counter() - started

    directory_seconds = run(chunks, 3)  # 3 chunks of 1,000 members: ~300 KB a frame
    message_seconds = run(messages, 1000)
    from directory.models import Member

    assert Member.objects.filter(guild_id=int(guild)).count() == args.members
    entries_rate = args.members / directory_seconds
    events_rate = args.members / message_seconds
    print(f"directory of {args.members:,} members: {directory_seconds:.1f} s (target < 30 s)")
    print(f"{args.members:,} MESSAGE_CREATE: {message_seconds:.1f} s, {events_rate:,.0f} events/s")
    print(f"ratio directory entries/s / message events/s: {entries_rate / events_rate:.2f}")


if __name__ == "__main__":
    main()
