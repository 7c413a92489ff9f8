"""The handler registry: complete for the contract, and refusing registrations that disagree."""

from __future__ import annotations

import pytest
from guildstats_contract.events import KNOWN_TYPES, RAW_ONLY_TYPES
from guildstats_contract.payloads import DATA_SCHEMAS

from core.registry import HandlerRegistry, RegistryError, registry


def handler(events):  # pragma: no cover - never called
    return None


def other(events):  # pragma: no cover - never called
    return None


def test_every_known_type_is_handled_or_stored_raw_by_the_installed_apps():
    registry.check_complete()
    assert registry.processed_types() == KNOWN_TYPES - RAW_ONLY_TYPES
    assert [(r.name, r.order, r.context) for r in registry.registrations()] == [
        ("guilds.coverage", 10, None),
        ("guilds.registry", 10, None),
        ("directory.names", 15, None),
        ("moderation.cases", 20, None),
        ("invites.joins", 30, None),
        ("stats.snapshots", 40, "counting"),
        ("stats.messages", 50, "counting"),
        ("stats.reactions", 50, "counting"),
        ("stats.voice", 50, "counting"),
    ]
    # everything read back is validated at ingest: nothing accepted can fail later
    assert set(registry.types_reading_data()) <= set(DATA_SCHEMAS)
    assert "VOICE_CHANNEL_MOVE" in registry.types_reading_data()
    assert "MESSAGE_CREATE" not in registry.types_reading_data()


@pytest.mark.parametrize(
    ("types", "options", "error"),
    [
        ({"NOT_A_TYPE"}, {}, "outside the contract"),
        ({"MESSAGE_UPDATE"}, {}, "stores raw"),
        ({"GUILD_DELETE"}, {"reads_data": True}, "no schema"),
        ({"GUILD_SYNC"}, {"reads_data": {"GUILD_CREATE"}}, "does not handle"),
    ],
)
def test_registrations_that_break_the_contract_are_refused(types, options, error):
    with pytest.raises(RegistryError, match=error):
        HandlerRegistry().register("x.y", types, handler, order=1, **options)


def test_a_context_without_its_factory_is_refused():
    fresh = HandlerRegistry()
    fresh.register("x.y", KNOWN_TYPES - RAW_ONLY_TYPES, other, order=1, context="shared")
    with pytest.raises(RegistryError, match="no factory registered for the contexts"):
        fresh.check_complete()
    fresh.on_context("shared", lambda events: None)
    fresh.check_complete()


def test_two_registrations_under_one_name_must_agree():
    fresh = HandlerRegistry()
    fresh.register("x.y", {"GUILD_SYNC"}, handler, order=1, reads_data=True)
    fresh.register("x.y", {"GUILD_SYNC"}, handler, order=1, reads_data=True)  # ready() twice
    with pytest.raises(RegistryError, match="twice"):
        fresh.register("x.y", {"GUILD_SYNC"}, other, order=1, reads_data=True)
    with pytest.raises(RegistryError, match="twice"):
        fresh.register("x.y", {"GUILD_SYNC"}, handler, order=2, reads_data=True)


def test_a_known_type_without_a_handler_is_reported():
    fresh = HandlerRegistry()
    fresh.register("x.y", KNOWN_TYPES - RAW_ONLY_TYPES - {"INVITE_USE"}, handler, order=1)
    with pytest.raises(RegistryError, match="INVITE_USE"):
        fresh.check_complete()
