from django.core.management.base import BaseCommand, CommandParser

from guilds.services import create_bot_token


class Command(BaseCommand):
    help = "Create a bot token and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A label for the bot using this token.")

    def handle(self, *args: object, name: str, **options: object) -> None:
        _row, token = create_bot_token(name)
        self.stdout.write(token)
