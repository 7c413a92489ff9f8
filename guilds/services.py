"""Writes of the guilds app: the guild registry (from GUILD_* events) and bot tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.cache import cache
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.ids import int_or_none
from guilds.models import ApiKey, BotToken, Guild

if TYPE_CHECKING:
    from core.events import StoredEvent

log = logging.getLogger(__name__)

CredentialT = TypeVar("CredentialT", BotToken, ApiKey)
TOKEN_PREFIX = "gsb_"  # noqa: S105 - a prefix, not a secret
API_KEY_PREFIX = "gsk_"
INT_MAX = 2**31 - 1

# data field (camelCase) -> Guild column, for GUILD_SYNC / GUILD_CREATE / GUILD_UPDATE.
GUILD_FIELDS = {
    "name": "name",
    "icon": "icon",
    "ownerId": "owner_id",
    "memberCount": "member_count",
    "features": "features",
    "premiumTier": "premium_tier",
    "premiumSubscriptionCount": "premium_subscription_count",
}


# --- Bot tokens ------------------------------------------------------------------------------
def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_bot_token(name: str) -> tuple[BotToken, str]:
    """Create a token; the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = BotToken.objects.create(name=name, prefix=token[:12], token_hash=hash_token(token))
    return row, token


def authenticate_bot(authorization: str | None) -> BotToken | None:
    """The active token named by an ``Authorization: Bot <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bot" or not token.strip():
        return None
    row = BotToken.objects.filter(token_hash=hash_token(token.strip()), revoked_at=None).first()
    return _mark_used(row)


# --- API keys --------------------------------------------------------------------------------
def create_api_key(name: str, guild_ids: Iterable[int]) -> tuple[ApiKey, str]:
    """Create a key for ``guild_ids`` (guild rows are created if new); the clear key is returned
    once and never stored."""
    ids = sorted(set(guild_ids))
    ensure_guilds(
        ids, known=Guild.objects.filter(guild_id__in=ids).values_list("guild_id", flat=True)
    )
    row = ApiKey(name=name)
    key = issue_api_key_secret(row)
    row.save()
    row.guilds.set(ids)
    return row, key


def issue_api_key_secret(row: ApiKey) -> str:
    """Give ``row`` a new random key (stored as its SHA-256 and a recognisable prefix) and
    return the clear key, which is never stored (the admin shows it once)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row.prefix, row.key_hash = key[:12], hash_token(key)
    return key


def revoke_api_keys(keys: Iterable[ApiKey]) -> int:
    """Revoke these keys now: the next call with one of them answers 401, in every process."""
    revoked = 0
    now = timezone.now()
    for row in keys:
        if row.revoked_at is None:
            row.revoked_at = now
            row.save(update_fields=["revoked_at"])  # post_save drops the cached key
            revoked += 1
    return revoked


# An API call resolves its key from the cache (Redis when configured) for up to this long, so a
# dashboard's many calls cost no key and scope queries; saving, revoking or deleting a key, or
# changing its guilds, drops the entry at once (guilds.signals).
API_KEY_CACHE_SECONDS = 30


def api_key_cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def authenticate_api_key(key: str) -> tuple[ApiKey, frozenset[int]] | None:
    """The active key behind ``key`` and the guilds it may read, or None."""
    digest = hash_token(key.strip())
    found = cache.get(api_key_cache_key(digest))
    if found is None:
        row = ApiKey.objects.filter(key_hash=digest, revoked_at=None).first()
        if row is None:
            return None
        found = (row, frozenset(row.guilds.values_list("guild_id", flat=True)))
        cache.set(api_key_cache_key(digest), found, API_KEY_CACHE_SECONDS)
    row, guild_ids = found
    before = row.last_used_at
    _mark_used(row)
    if row.last_used_at != before:
        cache.set(api_key_cache_key(digest), (row, guild_ids), API_KEY_CACHE_SECONDS)
    return row, guild_ids


def _mark_used(row: CredentialT | None) -> CredentialT | None:
    """Record a credential's last use, at most once a minute (one write, not one per call)."""
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        type(row).objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


# --- Guild registry --------------------------------------------------------------------------
def ensure_guilds(guild_ids: Iterable[int], known: Iterable[int]) -> None:
    """Create rows for guilds seen for the first time (``known`` already have one), so their
    settings can be edited in the admin."""
    missing = set(guild_ids) - set(known)
    if missing:
        Guild.objects.bulk_create(
            [Guild(guild_id=g) for g in sorted(missing)], ignore_conflicts=True
        )


def ensure_chunk_guilds(events: Sequence[StoredEvent]) -> None:
    """Before each processing chunk (``core.registry.before_chunk``): a row for every guild
    seen for the first time, so its settings can be edited and its counts kept."""
    guild_ids = {e.guild_id for e in events}
    ensure_guilds(
        guild_ids,
        known=Guild.objects.filter(guild_id__in=guild_ids).values_list("guild_id", flat=True),
    )


def apply_guild_events(events: Sequence[StoredEvent]) -> None:
    """Apply GUILD_SYNC / CREATE / UPDATE / DELETE / STATE and the member count's joins and
    leaves, in timestamp order. Stats are never deleted."""
    counts = _MemberCounts()
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if event.type in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"):
            counts.add(
                event.guild_id, event.timestamp, 1 if event.type == "GUILD_MEMBER_ADD" else -1
            )
            continue
        counts.flush()  # the joins before this event land before it sets anything
        if event.type == "GUILD_SYNC":
            _apply_sync(event, data)
        elif event.type == "GUILD_CREATE":
            guild_id = int_or_none(data.get("id")) or event.guild_id
            fields = _guild_fields(data, event.timestamp)
            fields["is_active"] = True
            fields.update(_listed_by(event))
            joined = _datetime(data.get("joinedAt"))
            if joined:
                fields["joined_at"] = joined
            Guild.objects.update_or_create(guild_id=guild_id, defaults=fields)
        elif event.type == "GUILD_UPDATE":
            raw_changes = data.get("changes")
            changes = raw_changes if isinstance(raw_changes, dict) else {}
            new_values = {
                key: change.get("new")
                for key, change in changes.items()
                if isinstance(change, dict) and "new" in change
            }
            fields = _guild_fields(new_values, event.timestamp)
            if fields:
                Guild.objects.update_or_create(guild_id=event.guild_id, defaults=fields)
        elif event.type == "GUILD_STATE":
            if data.get("memberCount") is not None:
                _set_member_count(event.guild_id, int(data["memberCount"]), event.timestamp)
        elif event.type == "GUILD_DELETE":
            Guild.objects.filter(guild_id=event.guild_id).update(
                is_active=False, updated_at=timezone.now()
            )
    counts.flush()


class _MemberCounts:
    """Joins minus leaves per guild, written as one UPDATE per guild; only those stamped after
    the guild's last count from Discord (``member_count_at``) change it, so a join that the
    count already holds is not added twice, and the count never goes below zero."""

    def __init__(self) -> None:
        self.pending: dict[int, list[tuple[datetime, int]]] = {}

    def add(self, guild_id: int, at: datetime, change: int) -> None:
        self.pending.setdefault(guild_id, []).append((at, change))

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        since = dict(
            Guild.objects.filter(guild_id__in=list(pending)).values_list(
                "guild_id", "member_count_at"
            )
        )
        for guild_id, changes in pending.items():
            after = since.get(guild_id)
            delta = sum(change for at, change in changes if after is None or at > after)
            if delta:
                # kept within the integer column whatever a bot reported (0 … 2^31 - 1)
                count = Least(F("member_count"), Value(INT_MAX - abs(delta))) + delta
                Guild.objects.filter(guild_id=guild_id).update(
                    member_count=Greatest(count, Value(0)),
                    updated_at=timezone.now(),
                )


def _set_member_count(guild_id: int, count: int, at: datetime) -> None:
    """Discord's own count at ``at``; an older count than the one kept changes nothing."""
    Guild.objects.filter(guild_id=guild_id).filter(
        Q(member_count_at__isnull=True) | Q(member_count_at__lte=at)
    ).update(member_count=count, member_count_at=at, updated_at=timezone.now())


def _apply_sync(event: StoredEvent, data: dict[str, Any]) -> None:
    """Upsert the listed guilds and mark inactive the unlisted ones of the same bot token
    (or with none recorded) and of the same shard: ``(guild_id >> 22) % shardCount ==
    shardId``. Without ``shardCount`` (or with 1) the sync covers every guild of the bot; with
    several shards but no ``shardId`` it names no shard and deactivates nothing."""
    listed: list[int] = []
    seen = _listed_by(event)
    for entry in data.get("guilds") or []:
        if not isinstance(entry, dict):
            continue
        guild_id = int_or_none(entry.get("id"))
        if guild_id is None:
            continue
        fields = _guild_fields(entry, event.timestamp)
        fields["is_active"] = True
        fields.update(seen)
        Guild.objects.update_or_create(guild_id=guild_id, defaults=fields)
        listed.append(guild_id)
    shard_count = int_or_none(data.get("shardCount")) or 1
    unlisted = Guild.objects.filter(is_active=True).exclude(guild_id__in=listed)
    if event.bot_token_id is None:
        unlisted = unlisted.filter(bot_token__isnull=True)
    else:
        unlisted = unlisted.filter(Q(bot_token_id=event.bot_token_id) | Q(bot_token__isnull=True))
    if shard_count > 1:
        if event.shard_id is None:
            return
        unlisted = unlisted.annotate(
            discord_shard=F("guild_id").bitrightshift(22) % Value(shard_count)
        ).filter(discord_shard=event.shard_id)
    unlisted.update(is_active=False, updated_at=timezone.now())


def _listed_by(event: StoredEvent) -> dict[str, Any]:
    """The bot token and shard to record on a guild that ``event`` lists or creates (a token
    or shard the event does not know leaves the recorded one)."""
    fields: dict[str, Any] = {}
    if event.bot_token_id is not None:
        fields["bot_token_id"] = event.bot_token_id
    if event.shard_id is not None:
        fields["shard_id"] = event.shard_id
    return fields


def _guild_fields(data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The Guild columns ``data`` sets (a member count with the moment it held, ``at``)."""
    fields: dict[str, Any] = {}
    for key, column in GUILD_FIELDS.items():
        if key not in data:
            continue
        value = data[key]
        if column == "owner_id":
            value = int_or_none(value)
        elif column in ("member_count", "premium_tier", "premium_subscription_count"):
            value = int_or_none(value) or 0
        elif column == "features":
            value = [str(v) for v in value] if isinstance(value, list) else []
        elif column == "name":
            value = str(value or "")[:100]
        fields[column] = value
    if "member_count" in fields:
        fields["member_count_at"] = at
    return fields


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = parse_datetime(value.replace("Z", "+00:00"))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def forget_guild_owner(guild_id: int, user_id: int) -> dict[str, int]:
    """Privacy's eraser: the member is no longer recorded as the guild's owner."""
    owner = Guild.objects.filter(guild_id=guild_id, owner_id=user_id).update(owner_id=None)
    return {"guild_owner": owner}
