"""A realistic synthetic bot feed, and a client that sends it through the real ingest.

Used by ``manage.py simulate`` (and the benchmark's event shapes). The feed has message bursts,
voice sessions with moves, reactions (some self-reactions and removals), joins and leaves, and a
small share of invalid events, so the server's rejection path is exercised too.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import msgspec

from devtools.names import directory_events

EMOJIS = ["👍", "❤️", "😂", "🎉", "🔥", "👀", "✅"]


@dataclass
class Expected:
    """What the feed must produce once counted (for the operator to compare)."""

    messages: int = 0
    voice_seconds: int = 0
    reactions: int = 0
    invalid: int = 0
    cases: int = 0  # moderation cases (an action reported by its event and its audit entry is one)
    invited_joins: int = 0  # joins credited to an inviter
    by_type: Counter[str] = field(default_factory=Counter)


class FeedGenerator:
    def __init__(self, guilds: int, members: int, hours: float, seed: int = 1) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a simulated feed
        self.guilds = guilds
        self.members = members
        self.hours = hours
        self.expected = Expected()
        self.guild_ids: list[str] = []
        self._next_id = 900_000_000_000_000_000 + self.rng.randint(0, 10**12)

    def snowflake(self) -> str:
        self._next_id += self.rng.randint(1, 1000)
        return str(self._next_id)

    def events(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        end = now_ms or int(time.time() * 1000)
        start = end - int(self.hours * 3_600_000)
        feed: list[dict[str, Any]] = []
        for _ in range(self.guilds):
            feed.extend(self._guild(start, end))
        feed.sort(key=lambda e: e["timestamp"] if isinstance(e.get("timestamp"), int) else 0)
        for event in feed:
            self.expected.by_type[str(event.get("type"))] += 1
        return feed

    def _guild(self, start: int, end: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        guild = self.snowflake()
        self.guild_ids.append(guild)
        text = [self.snowflake() for _ in range(rng.randint(2, 6))]
        voice = [self.snowflake() for _ in range(rng.randint(1, 4))]
        users = [self.snowflake() for _ in range(self.members)]
        yield {
            "type": "GUILD_CREATE",
            "guildId": guild,
            "timestamp": start,
            "data": {
                "id": guild,
                "name": f"Sim guild {guild[-4:]}",
                "icon": None,
                "ownerId": users[0],
                "memberCount": len(users),
                "features": [],
                "premiumTier": 0,
                "premiumSubscriptionCount": 0,
            },
        }
        yield from directory_events(rng, guild, start, text, voice, users, self.snowflake)
        authored: list[tuple[str, str]] = []  # (author, channel) of recent messages
        for user in users:
            activity = rng.random()  # some members chat a lot, most a little
            t = start + rng.randint(0, max(1, end - start) // 4)
            if rng.random() < 0.2:
                yield {
                    "type": "GUILD_MEMBER_ADD",
                    "guildId": guild,
                    "userId": user,
                    "timestamp": t,
                    "data": {
                        "userId": user,
                        "username": f"u{user[-5:]}",
                        "bot": False,
                        "inviteAttribution": "unknown",  # the collector could not tell
                        "attributionReason": "not_found",
                    },
                }
            while t < end:  # message bursts separated by quiet gaps
                channel = rng.choice(text)
                for _ in range(rng.randint(1, 1 + int(10 * activity))):
                    t += rng.randint(2_000, 60_000)
                    if t >= end:
                        break
                    yield {
                        "type": "MESSAGE_CREATE",
                        "guildId": guild,
                        "userId": user,
                        "channelId": channel,
                        "messageId": self.snowflake(),
                        "timestamp": t,
                    }
                    self.expected.messages += 1
                    authored.append((user, channel))
                t += rng.randint(10 * 60_000, int(3 * 3_600_000 * (1.1 - activity)))
            t = start + rng.randint(0, max(1, end - start) // 2)
            while rng.random() < 0.6 and t < end:  # voice sessions, sometimes with a move
                channel = rng.choice(voice)
                stay = rng.randint(30_000, 90 * 60_000)
                leave_at = t + stay
                if leave_at >= end:
                    break
                yield {
                    "type": "VOICE_CHANNEL_JOIN",
                    "guildId": guild,
                    "userId": user,
                    "channelId": channel,
                    "timestamp": t,
                }
                if len(voice) > 1 and rng.random() < 0.3:
                    moved = t + stay // 2
                    target = rng.choice([v for v in voice if v != channel])
                    yield {
                        "type": "VOICE_CHANNEL_MOVE",
                        "guildId": guild,
                        "userId": user,
                        "channelId": target,
                        "timestamp": moved,
                        "data": {"oldChannelId": channel, "newChannelId": target},
                    }
                    channel = target
                yield {
                    "type": "VOICE_CHANNEL_LEAVE",
                    "guildId": guild,
                    "userId": user,
                    "channelId": channel,
                    "timestamp": leave_at,
                }
                # Instants are rounded half up to whole seconds, as the counters do (not round()'s
                # half-to-even), so the expected total matches to the second.
                self.expected.voice_seconds += (leave_at + 500) // 1000 - (t + 500) // 1000
                t = leave_at + rng.randint(60_000, 4 * 3_600_000)
        for _ in range(len(authored) // 3):  # reactions to recent messages
            author, channel = rng.choice(authored)
            reactor = rng.choice(users)
            ts = rng.randint(start, end - 1)
            removed = rng.random() < 0.05
            yield {
                "type": "MESSAGE_REACTION_REMOVE" if removed else "MESSAGE_REACTION_ADD",
                "guildId": guild,
                "userId": reactor,
                "channelId": channel,
                "messageId": self.snowflake(),
                "timestamp": ts,
                "data": {"emoji": rng.choice(EMOJIS), "messageAuthorId": author},
            }
            if not removed:
                self.expected.reactions += 1
        for user in rng.sample(users, k=max(0, len(users) // 20)):
            yield {
                "type": "GUILD_MEMBER_REMOVE",
                "guildId": guild,
                "userId": user,
                "timestamp": rng.randint(start, end - 1),
                "data": {
                    "userId": user,
                    "username": f"u{user[-5:]}",
                    "wasKicked": False,
                    "joinedAt": "2026-01-01T00:00:00Z",
                    "roles": [],
                },
            }
        yield from self._coverage(guild, start, end)
        yield from self._moderation_and_invites(guild, users, text, start, end)
        for _ in range(max(1, len(users) // 50)):  # a few invalid events
            self.expected.invalid += 1
            yield rng.choice(
                [
                    {"type": "MESSAGE_CREATE", "guildId": "not-a-snowflake", "timestamp": end},
                    {"type": "MESSAGE_CREATE", "guildId": guild, "timestamp": "yesterday"},
                    {
                        "type": "MESSAGE_CREATE",
                        "guildId": guild,
                        "timestamp": end + 3_600_000,
                        "userId": users[0],
                        "channelId": text[0],
                    },
                    {"guildId": guild, "timestamp": end},
                ]
            )

    def _coverage(self, guild: str, start: int, end: int) -> Iterator[dict[str, Any]]:
        """The collector's heartbeats (one shard per guild), every 10 minutes, with one outage:
        stopped from 40 % to 50 % of the span, so its time reads as not covered."""
        span = end - start
        runs = [(start, start + span * 4 // 10), (start + span // 2, end)]
        for begin, stop in runs:
            states = [("start", begin, begin)]
            since = begin
            for t in range(begin + 600_000, stop, 600_000):
                states.append(("alive", since, t))
                since = t
            states.append(("stop" if stop < end else "alive", since, stop))
            for state, since_ms, at in states:
                yield {
                    "type": "COLLECTOR_HEARTBEAT",
                    "guildId": guild,
                    "shardId": 0,
                    "timestamp": at,
                    "data": {
                        "state": state,
                        "since": since_ms,
                        "intervalSeconds": 600,
                        "shardCount": 1,
                        "guildIds": [guild],
                    },
                }

    def _moderation_and_invites(
        self, guild: str, users: list[str], text: list[str], start: int, end: int
    ) -> Iterator[dict[str, Any]]:
        """Invites and who joined through them (one vanity join), and a moderator's day: a ban
        reported by its event and its audit entry, a kick, a timeout, a message deleted."""
        rng = self.rng
        if len(users) < 8:
            return
        moderator, inviters = users[0], users[1:3]
        codes = []
        for inviter in inviters:
            code = f"sim{self.snowflake()[-6:]}"
            codes.append((code, inviter))
            yield {
                "type": "INVITE_CREATE",
                "guildId": guild,
                "timestamp": start,
                "data": {"code": code, "channelId": text[0], "inviterId": inviter, "uses": 0},
            }
        newcomers = [self.snowflake() for _ in range(max(2, len(users) // 10))]
        for n, member in enumerate(newcomers):
            t = rng.randint(start + 60_000, end - 120_000)
            add: dict[str, Any] = {"userId": member, "username": f"n{member[-5:]}", "bot": False}
            if n == 0:  # joined through the server's vanity URL
                add.update(vanity=True, inviteAttribution="vanity")
            else:
                code, inviter = codes[n % len(codes)]
                add.update(inviterId=inviter, inviteCode=code, inviteAttribution="invite")
                yield {
                    "type": "INVITE_USE",
                    "guildId": guild,
                    "timestamp": t + 500,
                    "data": {"code": code, "newMemberId": member, "inviterId": inviter},
                }
                self.expected.invited_joins += 1
            yield {
                "type": "GUILD_MEMBER_ADD",
                "guildId": guild,
                "userId": member,
                "timestamp": t,
                "data": add,
            }
        banned, kicked, muted, author = users[-1], users[-2], users[-3], users[-4]
        t = rng.randint(start + 60_000, end - 60_000)
        yield {
            "type": "GUILD_BAN_ADD",
            "guildId": guild,
            "timestamp": t,
            "data": {"targetUserId": banned, "targetUsername": f"u{banned[-5:]}"},
        }
        yield _audit(guild, t + 2_000, "MEMBER_BAN_ADD", moderator, banned, reason="spam")
        t = rng.randint(start + 60_000, end - 60_000)
        yield {
            "type": "GUILD_MEMBER_REMOVE",
            "guildId": guild,
            "userId": kicked,
            "timestamp": t,
            "data": {"userId": kicked, "username": f"u{kicked[-5:]}", "wasKicked": True},
        }
        yield _audit(guild, t + 1_500, "MEMBER_KICK", moderator, kicked, reason="rules")
        until = "2026-12-31T00:00:00Z"
        change = {"key": "communication_disabled_until", "oldValue": None, "newValue": until}
        yield _audit(
            guild, rng.randint(start, end - 1), "MEMBER_UPDATE", moderator, muted, changes=[change]
        )
        yield {
            "type": "MESSAGE_DELETE",
            "guildId": guild,
            "channelId": text[0],
            "timestamp": rng.randint(start, end - 1),
            "data": {
                "messageId": self.snowflake(),
                "channelId": text[0],
                "authorId": author,
                "deletedBy": {"userId": moderator, "username": "moderator"},
            },
        }
        self.expected.cases += 4


def _audit(
    guild: str, ts: int, action: str, executor: str, target: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
        "guildId": guild,
        "timestamp": ts,
        "data": {"action": action, "executorId": executor, "targetId": target, **extra},
    }


@dataclass
class SendReport:
    frames: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def send_feed(
    events: list[dict[str, Any]],
    *,
    url: str,
    token: str,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> SendReport:
    """Send ``events`` in frames of ``batch_size`` to a WebSocket or HTTP ingest URL."""
    report = SendReport()
    started = time.perf_counter()
    frames = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
    scheme = urlparse(url).scheme
    if scheme in ("ws", "wss"):
        from websockets.sync.client import connect

        with connect(
            url,
            additional_headers={"Authorization": f"Bot {token}"},
            max_size=None,
            open_timeout=10,
        ) as ws:
            for frame in frames:
                ws.send(msgspec.json.encode(frame).decode())
                _tally(report, msgspec.json.decode(ws.recv(timeout=120)))
                if progress:
                    progress(len(frame))
    elif scheme in ("http", "https"):
        import urllib.request

        for frame in frames:
            # only an http(s) URL reaches this branch
            request = urllib.request.Request(  # noqa: S310
                url,
                data=msgspec.json.encode(frame),
                method="POST",
                headers={"Authorization": f"Bot {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                _tally(report, msgspec.json.decode(response.read()))
            if progress:
                progress(len(frame))
    else:
        raise ValueError(
            f"unsupported URL scheme {scheme!r}: use ws://, wss://, http:// or https://"
        )
    report.seconds = time.perf_counter() - started
    return report


def _tally(report: SendReport, reply: dict[str, Any]) -> None:
    report.frames += 1
    if reply.get("type") != "ack":
        report.errors.append(str(reply.get("error")))
        return
    report.accepted += reply["accepted"]
    report.duplicates += reply["duplicates"]
    report.rejected += len(reply["rejected"])
    for rejection in reply["rejected"]:
        report.reasons[rejection["error"].split(" - ")[0][:60]] += 1
