"""``python -m guildstats_collector``: a missing or refused token stops with a clear error."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from guildstats_collector.__main__ import main, preflight
from guildstats_collector.config import Settings
from guildstats_collector.pipeline import BotTokenRefused
from guildstats_collector.spool import Spool


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DISCORD_TOKEN is not set"),
        ({"DISCORD_TOKEN": "d"}, "GUILDSTATS_BOT_TOKEN is not set"),
        ({"DISCORD_TOKEN": "d", "GUILDSTATS_BATCH": "nonsense"}, "GUILDSTATS_BATCH entry"),
    ],
)
def test_run_refuses_an_incomplete_configuration(monkeypatch, capsys, env, message):
    for name in ("DISCORD_TOKEN", "GUILDSTATS_BOT_TOKEN", "GUILDSTATS_BATCH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    assert message in capsys.readouterr().err


def test_status_reports_the_spool(tmp_path, monkeypatch, capsys):
    path = str(tmp_path / "spool.sqlite3")
    spool = Spool(path, max_events=1)
    spool.append([("MESSAGE_CREATE", b"{}"), ("MESSAGE_CREATE", b"{}")])
    spool.dead_letter_unsent("GUILD_BAN_ADD", b"{}", "too large")
    spool.close()
    monkeypatch.setenv("GUILDSTATS_SPOOL_PATH", path)
    assert main(["status"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "spool": path,
        "events": 1,
        "bytes": 2,
        "deadLetters": 1,
        "dropped": 1,
        "drops": {"max_events:MESSAGE_CREATE": 1},
        "recentDeadLetters": [{"seq": 1, "type": "GUILD_BAN_ADD", "reason": "too large"}],
    }


async def _server(status: int) -> tuple[web.AppRunner, str]:
    async def ingest(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bot gsb_wrong"
        assert await request.read() == b"[]"
        if status != 200:
            return web.Response(status=status, text="invalid bot token")
        return web.json_response({"type": "ack", "accepted": 0, "duplicates": 0, "rejected": []})

    app = web.Application()
    app.router.add_post("/api/ingest/events", ingest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.asyncio
async def test_preflight_says_a_refused_bot_token_before_connecting():
    runner, url = await _server(401)
    try:
        with pytest.raises(BotTokenRefused, match="refused GUILDSTATS_BOT_TOKEN"):
            await preflight(Settings(guildstats_url=url, bot_token="gsb_wrong"))
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_preflight_passes_a_good_token_and_tolerates_an_unreachable_server():
    runner, url = await _server(200)
    try:
        await preflight(Settings(guildstats_url=url, bot_token="gsb_wrong"))
    finally:
        await runner.cleanup()
    await preflight(Settings(guildstats_url="http://127.0.0.1:9", bot_token="x"))  # spools


def test_the_standalone_runner_says_nothing_about_voice_libraries(monkeypatch, caplog):
    """discord.py warns at every start that PyNaCl and davey (voice) are missing; the collector
    never joins voice, so the standalone runner silences both (a host bot's logging is its own)."""
    import asyncio
    import logging

    import discord
    from discord.ext import commands
    from guildstats_collector.__main__ import ConfigError, run

    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)  # as in a fresh process
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)

    async def refused(self, token, *args, **kwargs):
        raise discord.LoginFailure("bad token")

    monkeypatch.setattr(commands.AutoShardedBot, "start", refused)
    settings = Settings(
        guildstats_url="http://127.0.0.1:9",  # unreachable: the preflight only warns
        bot_token="gsb_x",
        discord_token="d",
        spool_path=":memory:",
    )
    caplog.set_level(logging.WARNING)
    with pytest.raises(ConfigError, match="Discord refused DISCORD_TOKEN"):
        asyncio.run(run(settings))
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "PyNaCl" not in said and "davey" not in said
    assert "unreachable" in said  # the preflight's own warning did get through
