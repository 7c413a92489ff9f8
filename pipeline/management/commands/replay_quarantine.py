"""``manage.py replay_quarantine [--guild ID …] [--event ID …]``: apply quarantined events again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from pipeline.drain import replay_quarantined
from pipeline.models import QuarantinedEvent


class Command(BaseCommand):
    help = (
        "Apply quarantined events again (after fixing what made them fail). Applied events "
        "leave the quarantine; the others keep their new error."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--guild", type=int, action="append", help="only this guild")
        parser.add_argument("--event", type=int, action="append", help="only this event id")
        parser.add_argument("--list", action="store_true", help="list them, apply nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            rows = QuarantinedEvent.objects.all()
            if options["guild"]:
                rows = rows.filter(guild_id__in=options["guild"])
            for row in rows:
                self.stdout.write(
                    f"{row.event_id}\t{row.type}\tguild {row.guild_id}\t"
                    f"{row.timestamp:%Y-%m-%d %H:%M:%S}\t{row.attempts}\t{row.error}"
                )
            return
        applied, failing = replay_quarantined(options["event"], options["guild"])
        self.stdout.write(f"{applied} applied, {failing} still failing")
