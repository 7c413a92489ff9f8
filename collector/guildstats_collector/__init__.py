"""guildstats' bot side: listeners that turn Discord events into guildstats ``BotEventDto``s, a
write-ahead SQLite spool, a batcher with seed 001's priorities and a sender that deletes an
event only once an ack covers it.

Two ways to run it:

* standalone: ``python -m guildstats_collector run`` (configured by environment, see
  ``config.Settings.from_env``);
* in an existing discord.py bot, two lines::

      from guildstats_collector import GuildstatsCog
      await bot.add_cog(GuildstatsCog(bot))  # or: bot.load_extension("guildstats_collector")
"""

from discord.ext import commands
from guildstats_collector.cog import GuildstatsCog
from guildstats_collector.config import Settings
from guildstats_collector.pipeline import Collector

__all__ = ["Collector", "GuildstatsCog", "Settings", "setup"]


async def setup(bot: commands.Bot) -> None:  # discord.py extension entry point
    await bot.add_cog(GuildstatsCog(bot))
