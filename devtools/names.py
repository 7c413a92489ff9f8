"""Realistic names for the simulated guilds: channels, categories, roles, emojis and members,
sent as a ``GUILD_DIRECTORY`` snapshot (chunks of at most 1,000 entries), so that a newcomer's
first dashboard shows people and channels by name."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from guildstats_contract.directory import MAX_CHUNK_ENTRIES

FIRST = [
    "alex",
    "ana",
    "ben",
    "camille",
    "chloe",
    "dan",
    "eli",
    "emma",
    "felix",
    "gabriel",
    "hugo",
    "ines",
    "jade",
    "jules",
    "kim",
    "leo",
    "lina",
    "lucas",
    "maya",
    "mila",
    "nina",
    "noah",
    "oscar",
    "paul",
    "rose",
    "sam",
    "sara",
    "theo",
    "tom",
    "vera",
    "yann",
    "zoe",
]
THINGS = [
    "fox",
    "owl",
    "wolf",
    "pixel",
    "comet",
    "maple",
    "river",
    "stone",
    "ember",
    "frost",
    "nova",
    "echo",
    "spark",
    "cedar",
    "orbit",
    "byte",
]
TEXT = ("general", "memes", "help", "announcements", "off-topic", "art", "music", "gaming")
VOICE = ("Lounge", "Gaming", "Study room", "Music", "AFK")
ROLES = (("Admin", 0xE74C3C), ("Moderator", 0x3498DB), ("Member", 0x2ECC71), ("VIP", 0xF1C40F))
EMOJIS = ("party", "pog", "kekw", "heart", "wave")


def member_entry(rng: random.Random, user: str, roles: list[str]) -> dict[str, Any]:
    first, thing = rng.choice(FIRST), rng.choice(THINGS)
    username = f"{first}_{thing}{rng.randint(1, 99)}"
    return {
        "id": user,
        "username": username,
        "globalName": f"{first.title()} {thing.title()}" if rng.random() < 0.7 else None,
        "nick": first.title() if rng.random() < 0.2 else None,
        "avatar": None,  # pages draw initials; the simulator invents no image hashes
        "bot": False,
        "roles": [r for r in roles if rng.random() < 0.3][:3],
    }


def directory_events(
    rng: random.Random,
    guild: str,
    ts: int,
    text: list[str],
    voice: list[str],
    users: list[str],
    snowflake: Any,
) -> Iterator[dict[str, Any]]:
    """The snapshot's chunks: ``text`` and ``voice`` channels under two categories, roles,
    emojis and every member of ``users``."""
    talk, rooms = snowflake(), snowflake()
    channels: list[dict[str, Any]] = [
        {"id": talk, "name": "Talk", "type": 4, "position": 0},
        {"id": rooms, "name": "Voice", "type": 4, "position": 1},
    ]
    channels += [
        {"id": c, "name": TEXT[i % len(TEXT)], "type": 0, "parentId": talk, "position": i}
        for i, c in enumerate(text)
    ]
    channels += [
        {"id": c, "name": VOICE[i % len(VOICE)], "type": 2, "parentId": rooms, "position": i}
        for i, c in enumerate(voice)
    ]
    roles = [
        {"id": snowflake(), "name": name, "color": color, "position": len(ROLES) - i}
        for i, (name, color) in enumerate(ROLES)
    ]
    emojis = [{"id": snowflake(), "name": name, "animated": False} for name in EMOJIS]
    role_ids = [r["id"] for r in roles]
    entries: list[tuple[str, dict[str, Any]]] = [
        *(("channels", c) for c in channels),
        *(("roles", r) for r in roles),
        *(("emojis", e) for e in emojis),
        *(("members", member_entry(rng, u, role_ids)) for u in users),
    ]
    parts = max(1, -(-len(entries) // MAX_CHUNK_ENTRIES))
    snapshot = f"sim-{guild}-{ts}"
    for part in range(parts):
        data: dict[str, Any] = {
            "snapshotId": snapshot,
            "part": part,
            "parts": parts,
            "sections": ["channels", "roles", "emojis", "members"],
        }
        for section, entry in entries[part * MAX_CHUNK_ENTRIES : (part + 1) * MAX_CHUNK_ENTRIES]:
            data.setdefault(section, []).append(entry)
        yield {
            "type": "GUILD_DIRECTORY",
            "guildId": guild,
            "timestamp": ts,
            "id": f"{snapshot}-{part}",
            "data": data,
        }
