"""Who invited a new member, and saying so when we do not know.

Discord does not say which invite a member used; invite bots compare each invite's ``uses``
before and after the join. Per guild the tracker keeps the last known uses of every invite (at
start, on guild join, on invite create/delete) and the vanity URL's; on a join it fetches them
again under a per-guild lock and diffs:

* exactly one invite up by exactly one → that invite (``invite``);
* no invite up, the vanity URL's uses up by one → ``vanity``;
* nothing up, and exactly one invite gone that was at its last use (max uses reached, so Discord
  deleted it) → that invite;
* several invites up, or one up by more than one (two joins between fetches) → ``ambiguous``,
  credited to nobody; the extra rises are remembered, so the join(s) that caused them are
  ambiguous too rather than unknown;
* no Manage Server permission, a rate-limited or failed fetch, or no change at all → ``unknown``
  with the reason. The join is sent in every case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from guildstats_collector.events import invite_fields

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InviteState:
    code: str
    uses: int
    max_uses: int = 0
    inviter_id: int | None = None
    inviter_name: str | None = None
    # the whole invite as INVITE_CREATE describes it, for a GUILD_STATE's invite list
    fields: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @classmethod
    def of(cls, invite: discord.Invite) -> InviteState:
        inviter = invite.inviter
        return cls(
            code=invite.code,
            uses=invite.uses or 0,
            max_uses=invite.max_uses or 0,
            inviter_id=inviter.id if inviter is not None else None,
            inviter_name=inviter.name if inviter is not None else None,
            fields=invite_fields(invite),
        )

    def described(self) -> dict[str, Any]:
        if self.fields is not None:
            return {**self.fields, "uses": self.uses}
        out: dict[str, Any] = {"code": self.code, "uses": self.uses, "maxUses": self.max_uses}
        if self.inviter_id is not None:
            out["inviterId"] = str(self.inviter_id)
            out["inviterUsername"] = self.inviter_name
        return out


@dataclass(frozen=True)
class Attribution:
    kind: str  # invite | vanity | ambiguous | unknown
    invite: InviteState | None = None
    candidates: tuple[str, ...] = ()
    reason: str | None = None

    def member_add_fields(self) -> dict[str, Any]:
        """The fields this attribution adds to ``GUILD_MEMBER_ADD.data``."""
        fields: dict[str, Any] = {"inviteAttribution": self.kind}
        if self.kind == "invite" and self.invite is not None:
            fields["inviteCode"] = self.invite.code
            if self.invite.inviter_id is not None:
                fields["inviterId"] = str(self.invite.inviter_id)
                fields["inviterUsername"] = self.invite.inviter_name
        elif self.kind == "vanity":
            fields["vanity"] = True
            fields["inviteType"] = "vanity"
        elif self.kind == "ambiguous" and self.candidates:
            fields["inviteCandidates"] = list(self.candidates[:25])
        elif self.kind == "unknown" and self.reason:
            fields["attributionReason"] = self.reason
        return fields

    def invite_use_fields(self) -> dict[str, Any] | None:
        """``INVITE_USE``'s data for an attributed invite, else None."""
        if self.kind != "invite" or self.invite is None:
            return None
        return {
            "code": self.invite.code,
            "inviterId": str(self.invite.inviter_id) if self.invite.inviter_id else None,
            "inviterUsername": self.invite.inviter_name,
            "uses": self.invite.uses,
            "maxUses": self.invite.max_uses or None,
        }


@dataclass
class _Snapshot:
    invites: dict[str, InviteState]
    vanity_uses: int | None
    unexplained: int = 0  # rises seen by an earlier ambiguous diff, not yet matched to a join


class FetchFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Fetch = Callable[[discord.Guild], Awaitable[tuple[dict[str, InviteState], int | None]]]


async def fetch_invites(guild: discord.Guild) -> tuple[dict[str, InviteState], int | None]:
    """The guild's invites and vanity uses from Discord; ``FetchFailed`` with the reason."""
    me = guild.me
    if me is not None and not me.guild_permissions.manage_guild:
        raise FetchFailed("missing_permission")
    try:
        invites = {i.code: InviteState.of(i) for i in await guild.invites()}
        vanity = None
        if "VANITY_URL" in guild.features:
            # the vanity URL's uses in one request: ``guild.vanity_invite()`` makes a second one
            # for the invite's channel, which attribution does not need (a join: 2 requests)
            found = await guild._state.http.get_vanity_code(guild.id)
            vanity = int(found.get("uses") or 0) if found and found.get("code") else None
    except discord.Forbidden:
        raise FetchFailed("missing_permission") from None
    except discord.HTTPException as exc:
        raise FetchFailed("rate_limited" if exc.status == 429 else "fetch_failed") from None
    except (TimeoutError, OSError):
        raise FetchFailed("fetch_failed") from None
    return invites, vanity


class InviteTracker:
    def __init__(self, fetch: Fetch = fetch_invites, *, cache_wait: float = 30.0) -> None:
        self._fetch = fetch
        self.cache_wait = cache_wait
        self._known: dict[int, _Snapshot] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._cached: dict[int, asyncio.Event] = {}  # set once a refresh has been tried

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    def expect(self, guild_ids: list[int]) -> None:
        """These guilds' invites are about to be cached (a shard is ready): a join that comes
        first waits for the cache (``cache_wait``) instead of finding nothing to diff."""
        for guild_id in guild_ids:
            if guild_id not in self._known:
                self._cached.setdefault(guild_id, asyncio.Event())

    async def refresh(self, guild: discord.Guild) -> dict[str, InviteState] | None:
        """Cache the guild's invites (start, guild join) and return them; None when they cannot
        be read."""
        try:
            async with self._lock(guild.id):
                try:
                    invites, vanity = await self._fetch(guild)
                except FetchFailed as exc:
                    log.info("invites of guild %s not cached: %s", guild.id, exc.reason)
                    self._known.pop(guild.id, None)
                    return None
                self._known[guild.id] = _Snapshot(dict(invites), vanity)
                return invites
        finally:
            self._cached.setdefault(guild.id, asyncio.Event()).set()

    def created(self, guild_id: int, invite: InviteState) -> None:
        snapshot = self._known.get(guild_id)
        if snapshot is not None:
            snapshot.invites[invite.code] = invite

    def deleted(self, guild_id: int, code: str) -> None:
        # kept until the next diff: a deletion at the last use still explains that join
        snapshot = self._known.get(guild_id)
        if snapshot is not None and code in snapshot.invites:
            old = snapshot.invites[code]
            at_last_use = old.max_uses and old.uses + 1 >= old.max_uses
            if not at_last_use:
                del snapshot.invites[code]

    def forget(self, guild_id: int) -> None:
        self._known.pop(guild_id, None)
        self._locks.pop(guild_id, None)
        self._cached.pop(guild_id, None)

    async def attribute(self, guild: discord.Guild) -> Attribution:
        cached = self._cached.get(guild.id)
        if cached is not None and not cached.is_set():
            try:
                async with asyncio.timeout(self.cache_wait):
                    await cached.wait()
            except TimeoutError:
                return Attribution("unknown", reason="cache_not_ready")
        async with self._lock(guild.id):
            before = self._known.get(guild.id)
            try:
                invites, vanity = await self._fetch(guild)
            except FetchFailed as exc:
                return Attribution("unknown", reason=exc.reason)
            self._known[guild.id] = _Snapshot(invites, vanity)
            if before is None:  # nothing to diff against (no cache yet)
                return Attribution("unknown", reason="not_found")
            result = diff(before, invites, vanity)
            self._known[guild.id].unexplained = before.unexplained
            if result.kind == "ambiguous":
                rises = sum(
                    max(0, inv.uses - (before.invites[c].uses if c in before.invites else 0))
                    for c, inv in invites.items()
                ) + max(0, (vanity or 0) - (before.vanity_uses or 0))
                self._known[guild.id].unexplained += max(0, rises - 1)
            elif result.kind == "unknown" and self._known[guild.id].unexplained > 0:
                self._known[guild.id].unexplained -= 1
                return Attribution("ambiguous", reason="concurrent_joins")
            return result


def diff(
    before: _Snapshot, invites: dict[str, InviteState], vanity_uses: int | None
) -> Attribution:
    rises = {
        code: inv.uses - (before.invites[code].uses if code in before.invites else 0)
        for code, inv in invites.items()
    }
    rises = {code: n for code, n in rises.items() if n > 0}
    vanity_rise = (
        vanity_uses - before.vanity_uses
        if vanity_uses is not None and before.vanity_uses is not None
        else 0
    )
    total = sum(rises.values()) + max(0, vanity_rise)
    if total == 1 and len(rises) == 1:
        code = next(iter(rises))
        return Attribution("invite", invite=invites[code])
    if total == 1 and vanity_rise == 1:
        return Attribution("vanity")
    if total > 1:
        candidates = sorted(rises) + (["vanity"] if vanity_rise > 0 else [])
        return Attribution("ambiguous", candidates=tuple(candidates))
    vanished = [
        old
        for code, old in before.invites.items()
        if code not in invites and old.max_uses and old.uses + 1 >= old.max_uses
    ]
    if len(vanished) == 1:
        gone = vanished[0]
        return Attribution(
            "invite",
            invite=InviteState(
                gone.code, gone.uses + 1, gone.max_uses, gone.inviter_id, gone.inviter_name
            ),
        )
    if len(vanished) > 1:
        return Attribution("ambiguous", candidates=tuple(sorted(v.code for v in vanished)))
    return Attribution("unknown", reason="not_found")
