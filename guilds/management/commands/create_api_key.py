from django.core.management.base import BaseCommand, CommandError, CommandParser

from guilds.services import create_api_key


class Command(BaseCommand):
    help = "Create an API key for one or more guilds and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A label for whoever uses this key.")
        parser.add_argument(
            "--guild", action="append", required=True, help="A guild id the key may read."
        )

    def handle(self, *args: object, name: str, guild: list[str], **options: object) -> None:
        try:
            ids = [int(g) for g in guild]
        except ValueError as exc:
            raise CommandError("--guild takes numeric guild ids") from exc
        if any(not 0 < g < 2**63 for g in ids):
            raise CommandError("--guild takes positive 64-bit guild ids")
        _row, key = create_api_key(name, ids)
        self.stdout.write(key)
