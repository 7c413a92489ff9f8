"""A discord.py client fed recorded gateway dispatches through its own ``ConnectionState``
parsers (as dpytest does), with the guildstats cog loaded and a transport that records frames
and acknowledges them the way guildstats does."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands
from guildstats_collector.cog import GuildstatsCog, intents
from guildstats_collector.config import Settings
from guildstats_collector.invites import InviteState
from guildstats_collector.pipeline import Collector
from guildstats_collector.spool import Spool
from guildstats_collector.transport import Response

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "gateway.json").read_text()
)
GUILD_ID = 1300000000000000100
# One dispatch of each kind the collector handles, as (gateway event, fixture name), in an order
# that makes sense for one guild (a member joins before anyone leaves, an invite is created before
# it is deleted)
RECORDED_DISPATCHES: list[tuple[str, str]] = [
    ("MESSAGE_CREATE", "MESSAGE_CREATE"),
    ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_ADD"),
    ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_ADD_CUSTOM"),
    ("MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE"),
    ("VOICE_STATE_UPDATE", "VOICE_JOIN"),
    ("VOICE_STATE_UPDATE", "VOICE_MOVE"),
    ("VOICE_STATE_UPDATE", "VOICE_LEAVE"),
    ("GUILD_MEMBER_ADD", "GUILD_MEMBER_ADD"),
    ("INVITE_CREATE", "INVITE_CREATE"),
    ("GUILD_BAN_ADD", "GUILD_BAN_ADD"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", "GUILD_AUDIT_LOG_ENTRY_CREATE_TIMEOUT"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", "GUILD_AUDIT_LOG_ENTRY_CREATE_BULK"),
    ("MESSAGE_DELETE_BULK", "MESSAGE_DELETE_BULK"),
    ("AUTO_MODERATION_ACTION_EXECUTION", "AUTO_MODERATION_ACTION_EXECUTION"),
    ("MESSAGE_DELETE", "MESSAGE_DELETE"),
    ("GUILD_MEMBER_REMOVE", "GUILD_MEMBER_REMOVE_UNCACHED"),
    ("INVITE_DELETE", "INVITE_DELETE"),
    ("GUILD_UPDATE", "GUILD_UPDATE"),
]
# The directory's changes, likewise (a channel, a thread, a role, emojis, members, the bot)
DIRECTORY_DISPATCHES: list[tuple[str, str]] = [
    ("CHANNEL_CREATE", "CHANNEL_CREATE"),
    ("CHANNEL_UPDATE", "CHANNEL_UPDATE"),
    ("CHANNEL_DELETE", "CHANNEL_DELETE"),
    ("THREAD_CREATE", "THREAD_CREATE"),
    ("THREAD_UPDATE", "THREAD_UPDATE"),
    ("THREAD_DELETE", "THREAD_DELETE"),
    ("GUILD_ROLE_CREATE", "GUILD_ROLE_CREATE"),
    ("GUILD_ROLE_UPDATE", "GUILD_ROLE_UPDATE"),
    ("GUILD_EMOJIS_UPDATE", "GUILD_EMOJIS_UPDATE"),
    ("GUILD_MEMBER_UPDATE", "GUILD_MEMBER_UPDATE_NICK"),
    ("GUILD_MEMBER_UPDATE", "GUILD_MEMBER_UPDATE_USER"),
    ("GUILD_ROLE_DELETE", "GUILD_ROLE_DELETE"),
    ("USER_UPDATE", "USER_UPDATE"),
]


def fixture(name: str, /, **overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(FIXTURES[name])
    data.update(overrides)
    return data


class AckingTransport:
    """Answers like guildstats: every event accepted, duplicates (same id) recognised."""

    def __init__(self) -> None:
        self.frames: list[list[dict[str, Any]]] = []
        self.seen: set[tuple[str, str]] = set()
        self.answers: list[Response | Exception] = []  # scripted answers, used first

    async def post(self, body: bytes) -> Response:
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if answer.status != 200 or answer.ack is not None:
                return answer
        frame = json.loads(body)
        self.frames.append(frame)
        duplicates = 0
        for event in frame:
            key = (event["guildId"], event["id"])
            duplicates += key in self.seen
            self.seen.add(key)
        return Response(
            200,
            {
                "type": "ack",
                "batch": "b",
                "accepted": len(frame) - duplicates,
                "duplicates": duplicates,
                "rejected": [],
            },
        )

    async def close(self) -> None:
        pass

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for frame in self.frames for event in frame]


class FakeInvites:
    """Discord's invite list per guild, as ``guild.invites()`` would return it."""

    def __init__(self) -> None:
        self.invites: dict[int, dict[str, InviteState]] = {}
        self.vanity: dict[int, int | None] = {}
        self.fail: Exception | None = None
        self.calls = 0

    async def __call__(self, guild: discord.Guild) -> tuple[dict[str, InviteState], int | None]:
        self.calls += 1
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return dict(self.invites.get(guild.id, {})), self.vanity.get(guild.id)


class FakeAuditLog:
    """The guild's message-delete audit entries, as ``guild.audit_logs()`` returns them: raw
    payloads parsed by discord.py's own ``AuditLogEntry``."""

    def __init__(self) -> None:
        self.entries: dict[int, list[dict[str, Any]]] = {}
        self.calls = 0

    async def __call__(self, guild: discord.Guild) -> list[discord.AuditLogEntry]:
        self.calls += 1
        await asyncio.sleep(0)
        state = guild._state
        return [
            discord.AuditLogEntry(
                users=state._users,
                integrations={},
                app_commands={},
                automod_rules={},
                webhooks={},
                data=copy.deepcopy(data),
                guild=guild,
            )
            for data in self.entries.get(guild.id, [])
        ]


class MemberChunks:
    """Discord's answer to a request for a guild's members (``guild.chunk()``): the members
    of ``members[guild id]`` in GUILD_MEMBERS_CHUNK dispatches of 1,000, through discord.py's
    own parser; ``fail`` makes the request fail instead."""

    def __init__(self) -> None:
        self.state: Any = None  # the client's ConnectionState, set at the gateway's start
        self.members: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[int] = []
        self.fail: Exception | None = None
        self.answering: asyncio.Task[None] | None = None

    async def __call__(self, guild_id: int, *, nonce: str | None = None, **_: Any) -> None:
        """The request is sent; the answer comes later, as Discord's does."""
        self.requests.append(guild_id)
        if self.fail is not None:
            raise self.fail
        self.answering = asyncio.get_running_loop().create_task(self._answer(guild_id, nonce))

    async def _answer(self, guild_id: int, nonce: str | None) -> None:
        members = self.members.get(guild_id, [])
        count = max(1, -(-len(members) // 1000))
        for index in range(count):
            await asyncio.sleep(0)
            self.state.parse_guild_members_chunk(
                {
                    "guild_id": str(guild_id),
                    "members": members[index * 1000 : (index + 1) * 1000],
                    "chunk_index": index,
                    "chunk_count": count,
                    "nonce": nonce,
                }
            )


class Gateway:
    def __init__(self, settings: Settings, spool_path: Path, transport: Any = None) -> None:
        self.settings = settings
        self.spool_path = spool_path
        self.transport = transport if transport is not None else AckingTransport()
        self.invites = FakeInvites()
        self.audits = FakeAuditLog()
        self.chunks = MemberChunks()

    async def start(
        self,
        *,
        ready: bool = True,
        guild_create: dict[str, Any] | None = None,
        settle: bool = True,
    ) -> Gateway:
        """Connect: READY then GUILD_CREATE (``guild_create``, the fixture by default), then
        wait until guildstats acknowledged everything (unless ``settle`` is False)."""
        self.bot = commands.Bot(
            command_prefix="!",
            intents=intents(self.settings),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=0.05,
            max_messages=100,
        )
        await self.bot._async_setup_hook()
        self.state = self.bot._connection
        self.chunks.state = self.state
        self.state.chunker = self.chunks
        self.collector = Collector(
            self.settings, transport=self.transport, spool=Spool(str(self.spool_path))
        )
        self.cog = GuildstatsCog(
            self.bot,
            self.settings,
            collector=self.collector,
            invite_fetch=self.invites,
            audit_fetch=self.audits,
        )
        await self.bot.add_cog(self.cog)
        if ready:
            self.feed("READY")
            self.feed("GUILD_CREATE", guild_create)
            await asyncio.wait_for(self.bot.wait_until_ready(), 5)
            if settle:
                await self.settle()
        return self

    def feed(self, kind: str, data: dict[str, Any] | None = None, /, **overrides: Any) -> None:
        """One dispatch: ``kind`` is the gateway ``t`` (the fixture of that name by default)."""
        payload = data if data is not None else fixture(kind, **overrides)
        getattr(self.state, "parse_" + kind.lower())(payload)

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0)
        await asyncio.wait_for(self.cog.directory.wait_idle(), 5)  # snapshots under way
        assert await self.collector.wait_drained(5)

    def take(self) -> list[dict[str, Any]]:
        """Events acknowledged since the last call, without their random client ids."""
        events = self.transport.events
        self.transport.frames.clear()
        return events

    async def close(self) -> None:
        await self.bot.remove_cog(self.cog.qualified_name)
        await self.bot.close()


# --- voice states, as GUILD_CREATE and VOICE_STATE_UPDATE carry them ---------------------------
def user(user_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
    }


def member(user_id: int, name: str, *, roles: tuple[int, ...] = (), **extra: Any) -> dict[str, Any]:
    """A guild member as GUILD_CREATE and GUILD_MEMBERS_CHUNK carry it."""
    return {
        "user": user(user_id, name),
        "roles": [str(role) for role in roles],
        "joined_at": "2026-10-01T10:00:00.000000+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        **extra,
    }


def in_voice(user_id: int, name: str, channel: int | None) -> dict[str, Any]:
    """A voice state as GUILD_CREATE and VOICE_STATE_UPDATE carry it (with its member)."""
    return {
        "guild_id": str(GUILD_ID),
        "channel_id": None if channel is None else str(channel),
        "user_id": str(user_id),
        "session_id": f"s{user_id}",
        "deaf": False,
        "mute": False,
        "self_deaf": False,
        "self_mute": False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
        "member": {
            "user": user(user_id, name),
            "roles": [],
            "joined_at": "2026-10-01T10:00:00.000000+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        },
    }


def guild_create(*voice: tuple[int, str, int], member_count: int = 3) -> dict[str, Any]:
    data = fixture("GUILD_CREATE")
    data["member_count"] = member_count
    data["voice_states"] = [in_voice(*entry) for entry in voice]
    known = {m["user"]["id"] for m in data["members"]}
    for state in data["voice_states"]:
        if state["user_id"] not in known:
            data["members"].append(copy.deepcopy(state["member"]))
    return data
