"""Schemathesis over /api/schema/: every operation, bounded examples (positive and negative),
against a guild with data. No answer is a server error, every status code and Content-Type is
documented, bodies and headers match the schema, invalid input is refused and anything the
schema allows is accepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError
from rest_framework.throttling import UserRateThrottle
from schemathesis import checks
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi import checks as openapi_checks

from guilds.api.fields import parse_snowflake
from guilds.services import create_api_key
from moderation.api.fields import InstantField
from tests.api.conftest import GUILD
from tests.factories import (
    SnapshotFactory,
    ban,
    invite_create,
    invite_use,
    member_add,
    message,
    ms,
    reaction,
    voice_join,
    voice_leave,
)

pytestmark = pytest.mark.django_db(transaction=True)

ALICE, BOB, CAROL, MOD = "1001", "1002", "1003", "2001"
CHANNEL, VOICE = "3001", "3002"
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.positive_data_acceptance,
]


def ago(**delta: float) -> int:
    return ms(timezone.now() - timedelta(**delta))


@pytest.fixture
def guild_with_data(ingest) -> None:
    """Messages, reactions, voice, moderation cases, joins through invites and snapshots."""
    status, ack = ingest(
        [
            member_add(GUILD, ALICE, ago(days=3), inviter=BOB, code="bob1"),
            invite_create(GUILD, "bob1", BOB, ago(days=4)),
            invite_use(GUILD, "bob1", BOB, CAROL, ago(days=2)),
            message(GUILD, ALICE, CHANNEL, ago(hours=3)),
            message(GUILD, BOB, CHANNEL, ago(days=1)),
            reaction(GUILD, BOB, ALICE, ago(hours=2), channel=CHANNEL),
            voice_join(GUILD, CAROL, VOICE, ago(hours=2)),
            voice_leave(GUILD, CAROL, VOICE, ago(hours=1)),
            ban(GUILD, CAROL, ago(hours=1), moderator=MOD, reason="spam"),
        ]
    )
    assert (status, ack["rejected"]) == (200, [])
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for back in (1, 2, 30):
        SnapshotFactory(
            guild_id=int(GUILD),
            period_start=hour - timedelta(hours=back),
            total_messages=back,
            unique_active_users=1,
        )


@pytest.fixture
def api_key(db: None) -> str:
    return create_api_key("schemathesis", [int(GUILD)])[1]


@pytest.fixture(autouse=True)
def _plain_api(settings, monkeypatch) -> None:
    settings.API_CACHE_SECONDS = 0  # every example runs the real code
    monkeypatch.setattr(UserRateThrottle, "allow_request", lambda *_: True)  # tested elsewhere


# The schema the app serves, loaded once at collection (the schema view reads no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@schema.hook("flatmap_path_parameters")
def mostly_the_real_guild(context, parameters: dict | None) -> st.SearchStrategy:
    """Fuzzing: three times out of four the guild with data, so the real code runs, else the
    id generated (also an id outside the caller's scope). A value the schema refuses stays:
    it is what a negative case tests."""
    if not parameters or parse_snowflake(parameters.get("guild_id")) is None:
        return st.just(parameters)
    return st.sampled_from([GUILD, GUILD, GUILD, parameters["guild_id"]]).map(
        lambda guild: {**parameters, "guild_id": guild}
    )


@schema.hook("map_case")
def the_real_guild_in_coverage(context, case):
    """Coverage (boundary values of each parameter, one at a time): the guild with data,
    unless the case is about the guild id itself."""
    meta = case.meta
    if (
        meta is not None
        and meta.phase.name == TestPhase.COVERAGE
        and "guild_id" in (case.path_parameters or {})
        and meta.phase.data.parameter != "guild_id"
    ):
        case.path_parameters["guild_id"] = GUILD
    return case


@schema.hook("filter_case")
def sendable(context, case) -> bool:
    """Leaves out what the schema cannot state: rules between two parameters (both answer
    400, tested in test_activity.py and tests/moderation/test_api.py): hourly points for
    ``all``, and ``until`` not after ``since``. (Ids with "/" or "." match no route and get
    config.urls' JSON 404.)"""
    query = case.query or {}
    if query.get("period") == "all" and query.get("granularity") == "hour":
        return False
    try:
        since, until = (InstantField().to_internal_value(query[k]) for k in ("since", "until"))
    except (KeyError, ValidationError):
        return True
    return since < until


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, guild_with_data, api_key) -> None:
    """One test per operation: the coverage phase (each parameter's boundaries and invalid
    values, one at a time), then 25 generated cases, positive and negative."""
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)
