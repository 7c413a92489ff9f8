from __future__ import annotations

import pytest
from guildstats_collector.config import (
    DEFAULT_POLICY,
    DIRECTORY_TYPES,
    IMMEDIATE_TYPES,
    SEED_POLICIES,
    BatchPolicy,
    Settings,
)


def test_defaults_from_the_environment():
    settings = Settings.from_env(
        {
            "GUILDSTATS_URL": "http://stats.local:8000/",
            "GUILDSTATS_BOT_TOKEN": "gsb_x",
            "DISCORD_TOKEN": "d",
            "GUILDSTATS_SPOOL_PATH": "/tmp/s.sqlite3",
        }
    )
    assert settings.guildstats_url == "http://stats.local:8000"
    assert (settings.bot_token, settings.discord_token) == ("gsb_x", "d")
    assert settings.spool_path == "/tmp/s.sqlite3"
    assert settings.policy("GUILD_BAN_ADD") == BatchPolicy(1, 0.0)
    assert settings.policy("MESSAGE_CREATE") == DEFAULT_POLICY == BatchPolicy(50, 10.0)
    assert settings.send_content is False
    assert settings.aggregate.enabled is False
    assert all(settings.enabled(kind) for kind in SEED_POLICIES)


def test_enable_disable_and_batch_overrides():
    settings = Settings.from_env(
        {
            "GUILDSTATS_DISABLED_EVENTS": "message_create, VOICE_CHANNEL_MOVE",
            "GUILDSTATS_BATCH": "MESSAGE_REACTION_ADD=200/30000",
            "GUILDSTATS_BATCH_DEFAULT": "100/5000",
        }
    )
    assert not settings.enabled("MESSAGE_CREATE")
    assert not settings.enabled("VOICE_CHANNEL_MOVE")
    assert settings.enabled("GUILD_BAN_ADD")
    assert settings.policy("MESSAGE_REACTION_ADD") == BatchPolicy(200, 30.0)
    assert settings.policy("VOICE_CHANNEL_JOIN") == BatchPolicy(100, 5.0)

    only = Settings.from_env({"GUILDSTATS_ENABLED_EVENTS": "GUILD_BAN_ADD,GUILD_BAN_REMOVE"})
    assert only.enabled("GUILD_BAN_ADD") and not only.enabled("MESSAGE_CREATE")


def test_aggregated_mode_replaces_the_tracked_raw_activity():
    settings = Settings.from_env(
        {"GUILDSTATS_AGGREGATE": "true", "GUILDSTATS_AGGREGATE_TRACK_VOICE": "false"}
    )
    assert not settings.enabled("MESSAGE_CREATE")
    assert not settings.enabled("MESSAGE_REACTION_ADD")
    assert settings.enabled("VOICE_CHANNEL_JOIN")  # voice not tracked: raw voice stays
    assert settings.enabled("GUILD_MEMBER_ADD")


@pytest.mark.parametrize(
    "env",
    [
        {"GUILDSTATS_DISABLED_EVENTS": "NOT_A_TYPE"},
        {"GUILDSTATS_BATCH": "MESSAGE_CREATE"},
        {"GUILDSTATS_BATCH": "MESSAGE_CREATE=0/10"},
    ],
)
def test_bad_configuration_is_refused_with_a_reason(env):
    with pytest.raises(ValueError):
        Settings.from_env(env)


def test_the_directory_is_on_by_default_and_can_be_switched_off():
    assert all(Settings.from_env({}).enabled(kind) for kind in DIRECTORY_TYPES)
    off = Settings.from_env({"GUILDSTATS_DIRECTORY": "false"})
    assert not any(off.enabled(kind) for kind in DIRECTORY_TYPES)
    assert off.enabled("GUILD_STATE") and off.enabled("GUILD_MEMBER_ADD")
    # a snapshot's chunks go to the spool one by one; the changes are batched like activity
    assert "GUILD_DIRECTORY" in IMMEDIATE_TYPES
    assert Settings().policy("CHANNEL_UPDATE") == DEFAULT_POLICY
