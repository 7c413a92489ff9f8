"""A guild's directory: the names of its channels, roles, custom emojis and members.

``GUILD_DIRECTORY`` is the snapshot a collector sends when a guild becomes available, in chunks
(``part`` of ``parts``, sharing ``snapshotId``); ``sections`` says which lists the snapshot holds
in full, so that once every chunk has arrived the server marks what it did not list as deleted
(channels, roles, emojis) or gone (members). A collector without the members intent leaves
``members`` out of ``sections`` and sends members as it sees them (``GUILD_MEMBER_UPDATE``).
Then every change: ``CHANNEL_*`` and ``THREAD_*`` (a ``DirectoryChannel``), ``ROLE_*``,
``EMOJI_*``, ``GUILD_MEMBER_UPDATE`` (a member's current names, avatar and roles; Discord
reports other users' username, global name and avatar changes through it).

Names only: no presence, no message content. One bad entry never spoils its chunk: a name is
cleaned (control characters and lone surrogates out, cut to its bound) and an entry that still
does not fit (an id that is no snowflake, a wrong type) is dropped alone, counted in
``dropped``.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct

from guildstats_contract.fields import AwareDatetime, Checked, Snowflake
from guildstats_contract.ids import is_snowflake as _is_snowflake

CHANNEL_NAME_MAX = 100  # Discord's limits: channel, role and guild names
ROLE_NAME_MAX = 100
EMOJI_NAME_MAX = 32
USERNAME_MAX = 32
NICK_MAX = 32
MAX_MEMBER_ROLES = 250  # Discord's own cap on a guild's roles
MAX_CHUNK_ENTRIES = 1_000  # entries (all sections) per GUILD_DIRECTORY chunk
MAX_PARTS = 10_000  # chunks per snapshot: 10 million entries
SECTIONS = ("channels", "roles", "emojis", "members")

# Loose on input (a long name is cut, not refused), bounded so a frame cannot balloon.
_Text = Annotated[str, Meta(max_length=4_096)]
AvatarHash = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^(a_)?[0-9a-f]+$")]


def clean_name(value: str, limit: int) -> str:
    """``value`` without control characters (Unicode category Cc) and lone surrogates, trimmed
    and cut to ``limit`` characters: what the server stores and the collector sends. Format
    characters stay (a zero-width joiner belongs to many emoji)."""
    kept = [char for char in value if unicodedata.category(char) not in ("Cc", "Cs")]
    return "".join(kept).strip()[:limit]


class _Entry(Checked, rename="camel"):
    _names: ClassVar[tuple[tuple[str, int], ...]] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, limit in self._names:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, clean_name(value, limit))


class DirectoryChannel(_Entry, rename="camel", kw_only=True):
    """A channel, category or thread (``type``: Discord's channel type; a thread's ``parentId``
    is its channel, a channel's its category)."""

    _snowflakes = ("id", "parent_id")
    _names = (("name", CHANNEL_NAME_MAX),)

    id: Snowflake
    name: _Text
    type: Annotated[int, Meta(ge=0, le=255)] = 0
    parent_id: Snowflake | None = None
    position: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] = 0


class DirectoryRole(_Entry, rename="camel", kw_only=True):
    _snowflakes = ("id",)
    _names = (("name", ROLE_NAME_MAX),)

    id: Snowflake
    name: _Text
    color: Annotated[int, Meta(ge=0, le=0xFFFFFF)] = 0
    position: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] = 0
    managed: bool = False


class DirectoryEmoji(_Entry, rename="camel", kw_only=True):
    _snowflakes = ("id",)
    _names = (("name", EMOJI_NAME_MAX),)

    id: Snowflake
    name: _Text
    animated: bool = False


class DirectoryMember(_Entry, rename="camel", kw_only=True):
    """A member's names and avatar: ``username`` (the unique handle), ``globalName`` (the
    display name they chose), ``nick`` (this guild's nickname); ``avatar`` and ``guildAvatar``
    are Discord's image hashes (the CDN URLs are built from them)."""

    _snowflakes = ("id",)
    _datetimes = ("joined_at",)
    _names = (("username", USERNAME_MAX), ("global_name", USERNAME_MAX), ("nick", NICK_MAX))

    id: Snowflake
    username: _Text
    global_name: _Text | None = None
    nick: _Text | None = None
    avatar: AvatarHash | None = None
    guild_avatar: AvatarHash | None = None
    bot: bool = False
    joined_at: AwareDatetime | None = None
    roles: Annotated[list[Snowflake], Meta(max_length=MAX_MEMBER_ROLES)] = []

    def __post_init__(self) -> None:
        super().__post_init__()
        if not all(_is_snowflake(role) for role in self.roles):
            raise ValueError("roles must hold valid snowflakes")


class DirectoryDelete(Checked, rename="camel"):
    """ROLE_DELETE, EMOJI_DELETE: which one (a channel's delete names it in ``channelId``)."""

    _snowflakes = ("id",)

    id: Snowflake


_ENTRY_TYPES: dict[str, type[_Entry]] = {
    "channels": DirectoryChannel,
    "roles": DirectoryRole,
    "emojis": DirectoryEmoji,
    "members": DirectoryMember,
}


class DirectoryChunk(Struct, rename="camel", kw_only=True):
    """GUILD_DIRECTORY: one chunk of a guild's directory snapshot (see the module)."""

    snapshot_id: Annotated[str, Meta(min_length=1, max_length=64)]
    part: Annotated[int, Meta(ge=0, lt=MAX_PARTS)]
    parts: Annotated[int, Meta(ge=1, le=MAX_PARTS)]
    sections: Annotated[list[Literal["channels", "roles", "emojis", "members"]], Meta(max_length=4)]
    channels: list[Any] = []
    roles: list[Any] = []
    emojis: list[Any] = []
    members: list[Any] = []
    # entries left out for not fitting (set on decoding; whatever a sender puts here is replaced)
    dropped: int = 0

    def __post_init__(self) -> None:
        if self.part >= self.parts:
            raise ValueError(f"part {self.part} is out of range for {self.parts} parts")
        total = len(self.channels) + len(self.roles) + len(self.emojis) + len(self.members)
        if total > MAX_CHUNK_ENTRIES:
            raise ValueError(f"a chunk holds {total} entries, at most {MAX_CHUNK_ENTRIES}")
        dropped = 0
        for section, entry_type in _ENTRY_TYPES.items():
            kept = []
            for entry in getattr(self, section):
                try:
                    kept.append(msgspec.convert(entry, entry_type, strict=True))
                except msgspec.ValidationError:
                    dropped += 1  # this entry alone: the chunk's others stand
            setattr(self, section, kept)
        self.dropped = dropped


DIRECTORY_SCHEMAS: dict[str, type[Struct]] = {
    "GUILD_DIRECTORY": DirectoryChunk,
    "CHANNEL_CREATE": DirectoryChannel,
    "CHANNEL_UPDATE": DirectoryChannel,
    "THREAD_CREATE": DirectoryChannel,
    "THREAD_UPDATE": DirectoryChannel,
    "ROLE_CREATE": DirectoryRole,
    "ROLE_UPDATE": DirectoryRole,
    "EMOJI_CREATE": DirectoryEmoji,
    "EMOJI_UPDATE": DirectoryEmoji,
    "ROLE_DELETE": DirectoryDelete,
    "EMOJI_DELETE": DirectoryDelete,
    "GUILD_MEMBER_UPDATE": DirectoryMember,
}
