"""python manage.py simulate --guilds N --members M --hours H [--url …] [--token …]"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from devtools.simulation import FeedGenerator, send_feed


class Command(BaseCommand):
    help = "Generate a realistic bot feed and send it through the real ingest (WS or HTTP)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guilds", type=int, default=3)
        parser.add_argument("--members", type=int, default=50)
        parser.add_argument("--hours", type=float, default=6.0)
        parser.add_argument(
            "--url",
            default="ws://127.0.0.1:8000/ws/bot/",
            help="ws://…/ws/bot/ or http://…/api/ingest/events",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("GUILDSTATS_BOT_TOKEN"),
            help="bot token (default: $GUILDSTATS_BOT_TOKEN, else a new one "
            "created in this project's database)",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **opts: Any) -> None:
        hours = float(opts["hours"])
        if not 0 < hours <= 24 * 29:
            raise CommandError("--hours must be between 0 and 696 (raw-event retention is 30 days)")
        token = opts["token"]
        if not token:
            from guilds.services import create_bot_token

            _row, token = create_bot_token("simulator")
            self.stdout.write("created bot token 'simulator' in this project's database")
        generator = FeedGenerator(
            int(opts["guilds"]),
            int(opts["members"]),
            hours,
            seed=int(opts["seed"]),
        )
        events = generator.events()
        with tqdm(total=len(events), unit="ev", desc="sending", file=self.stderr) as bar:
            try:
                report = send_feed(
                    events,
                    url=str(opts["url"]),
                    token=str(token),
                    batch_size=int(opts["batch_size"]),
                    progress=bar.update,
                )
            except OSError as exc:
                raise CommandError(f"cannot reach {opts['url']}: {exc}") from exc
        expected = generator.expected
        rate = len(events) / report.seconds if report.seconds else 0.0
        self.stdout.write(
            f"sent {len(events)} events in {report.frames} frames "
            f"in {report.seconds:.1f}s ({rate:,.0f} events/s)"
        )
        self.stdout.write(
            f"  accepted {report.accepted}, duplicates {report.duplicates}, "
            f"rejected {report.rejected} (generated invalid: {expected.invalid})"
        )
        for reason, count in report.reasons.most_common():
            self.stdout.write(f"    {count} x {reason}")
        for error in report.errors[:5]:
            self.stdout.write(f"  frame error: {error}")
        self.stdout.write(f"  by type: {dict(sorted(expected.by_type.items()))}")
        self.stdout.write(
            f"  expected totals: messages {expected.messages}, "
            f"voice {expected.voice_seconds / 60:.1f} min "
            f"({expected.voice_seconds} s), reactions {expected.reactions}, "
            f"moderation cases {expected.cases}, invited joins {expected.invited_joins}"
        )
        guilds = " ".join(f"--guild {g}" for g in generator.guild_ids)
        self.stdout.write(f"  guilds: {' '.join(generator.guild_ids)}")
        self.stdout.write("  read them through the API with a key for these guilds:")
        self.stdout.write(f"    .venv/bin/python manage.py create_api_key simulator {guilds}")
