"""The wire contract between a bot and guildstats, with no Django: event types and the
``BotEventDto`` (``events``), the ``data`` payload schemas (``payloads``, ``snapshots``) and
Discord ids (``ids``). The server validates with it; the collector builds to it."""
