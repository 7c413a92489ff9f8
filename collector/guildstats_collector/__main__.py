"""``python -m guildstats_collector run`` (standalone bot) and ``status`` (the spool).

Configured by environment (``config.Settings.from_env``): ``DISCORD_TOKEN``, ``GUILDSTATS_URL``,
``GUILDSTATS_BOT_TOKEN``, ``GUILDSTATS_SPOOL_PATH`` and the optional ``GUILDSTATS_*`` settings.
Exit codes: 0 stopped, 2 configuration or token refused (Discord's or guildstats').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

import discord
from discord.ext import commands
from guildstats_collector.cog import GuildstatsCog, intents
from guildstats_collector.config import Settings
from guildstats_collector.pipeline import BotTokenRefused
from guildstats_collector.spool import Spool
from guildstats_collector.transport import HttpTransport, TransientError

log = logging.getLogger("guildstats_collector")


class ConfigError(Exception):
    pass


async def preflight(settings: Settings) -> None:
    """An empty frame: 401 means the bot token is wrong, said now rather than after a backlog."""
    transport = HttpTransport(settings.guildstats_url, settings.bot_token, timeout=10)
    try:
        answer = await transport.post(b"[]")
    except TransientError as exc:
        log.warning(
            "guildstats at %s unreachable (%s): events are spooled meanwhile",
            settings.guildstats_url,
            exc,
        )
        return
    finally:
        await transport.close()
    if answer.status in (401, 403):
        raise BotTokenRefused(
            f"guildstats at {settings.guildstats_url} refused GUILDSTATS_BOT_TOKEN "
            f"({answer.status})"
        )


async def run(settings: Settings) -> int:
    if not settings.discord_token:
        raise ConfigError("DISCORD_TOKEN is not set")
    if not settings.bot_token:
        raise ConfigError("GUILDSTATS_BOT_TOKEN is not set (manage.py create_bot_token NAME)")
    await preflight(settings)
    # the collector never joins voice: discord.py's warnings about PyNaCl and davey (voice
    # support) would only alarm an operator (a host bot's own logging is left alone)
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    bot = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=intents(settings),
        max_messages=int(os.environ.get("GUILDSTATS_MESSAGE_CACHE", "1000")),
        help_command=None,
    )
    cog = GuildstatsCog(bot, settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    async def watch() -> None:
        while not stopping.is_set():
            if cog.collector.fatal is not None:
                break
            await asyncio.sleep(0.5)
        await bot.remove_cog(cog.qualified_name)  # stop heartbeats, drain the spool briefly
        await bot.close()

    async with bot:
        await bot.add_cog(cog)
        watcher = asyncio.create_task(watch())
        try:
            await bot.start(settings.discord_token)
        except discord.LoginFailure:
            raise ConfigError("Discord refused DISCORD_TOKEN") from None
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(
                "the members intent is privileged: enable 'Server Members Intent' for the bot in "
                "Discord's developer portal, or set GUILDSTATS_MEMBERS_INTENT=false"
            ) from None
        finally:
            stopping.set()
            if bot.get_cog(cog.qualified_name) is not None:
                await bot.remove_cog(cog.qualified_name)
            watcher.cancel()
    if isinstance(cog.collector.fatal, BotTokenRefused):
        raise cog.collector.fatal
    return 0


def status(settings: Settings) -> int:
    spool = Spool(settings.spool_path)
    report = {
        "spool": settings.spool_path,
        **spool.stats(),
        "drops": {f"{reason}:{kind}": n for (reason, kind), n in sorted(spool.drops().items())},
        "recentDeadLetters": [
            {"seq": seq, "type": kind, "reason": reason}
            for seq, kind, reason, _ in spool.dead_letters(10)
        ],
    }
    spool.close()
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="guildstats_collector")
    parser.add_argument("command", choices=["run", "status"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("GUILDSTATS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings.from_env()
        if args.command == "status":
            return status(settings)
        return asyncio.run(run(settings))
    except (ConfigError, BotTokenRefused, ValueError) as exc:
        print(f"guildstats-collector: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
