"""``manage.py forget_member --guild ID --user ID``: erase a member (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from privacy.services.erase import erase_member


class Command(BaseCommand):
    help = (
        "Erase a member of a guild: raw events, counters, voice time, joins and invites, "
        "bot-snapshot rows, rollup parts, their name and words in moderation cases; the "
        "snapshots they counted in are recomputed. Recorded in the privacy audit."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--guild", type=int, required=True, help="the guild id")
        parser.add_argument("--user", type=int, required=True, help="the member's user id")

    def handle(self, *args: Any, **options: Any) -> None:
        report = erase_member(options["guild"], options["user"], actor="command")
        changed = ", ".join(f"{table} {n}" for table, n in report.items() if n)
        self.stdout.write(
            f"erased member {options['user']} of guild {options['guild']}: "
            f"{changed or 'nothing found'}"
        )
