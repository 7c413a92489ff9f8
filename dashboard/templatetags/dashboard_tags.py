from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from directory.selectors import short_id

register = template.Library()


@register.filter
def change(value: float | None) -> str:
    """+12.5% / -3.0% / — (nothing to compare with), as the page's script writes it."""
    if value is None:
        return "—"
    if value == 0:
        return "±0%"
    sign = "+" if value > 0 else "-"
    return f"{sign}{abs(value):.1f}%"


@register.filter
def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def category_label(value: str) -> str:
    return {"messages": "Messages", "voice": "Voice minutes", "reactions": "Reactions"}.get(
        value, "Overall"
    )


@register.filter
def when(value: str | None) -> str:
    """An API timestamp (ISO 8601, UTC) as "2026-03-20 12:00 UTC"."""
    if not value:
        return "—"
    return f"{value[:10]} {value[11:16]} UTC" if len(value) >= 16 else value


@register.simple_tag
def person(entry: dict[str, Any], handle: bool = False) -> str:
    """A member as people know them: avatar (or initials), display name (``handle``: and the
    username under it), the id on hover (``title``; the member page has a copy button); an id
    with no known name is shortened, never blank."""
    user_id = str(entry.get("userId") or "")
    name = entry.get("displayName")
    avatar = entry.get("avatarUrl")
    label = name or short_id(user_id)
    initials = "".join(word[0] for word in str(label).split()[:2]).upper() or "?"
    picture = (
        format_html('<img class="avatar" src="{}" alt="" loading="lazy">', avatar)
        if avatar
        else format_html('<span class="avatar initials" aria-hidden="true">{}</span>', initials)
    )
    username = entry.get("username") if handle else None
    extra = format_html(' <span class="muted small">@{}</span>', username) if username else ""
    return format_html(
        '<span class="who" title="{}" data-copy="{}">{}<span class="name">{}</span>{}</span>',
        user_id,
        user_id,
        picture,
        label,
        extra,
    )


@register.simple_tag
def channel(entry: dict[str, Any]) -> str:
    """``#name`` (a deleted channel struck through), the id on hover; shortened id when the
    directory does not know it."""
    channel_id = str(entry.get("channelId") or "")
    name = entry.get("name")
    label = f"#{name}" if name else short_id(channel_id)
    css = "channel deleted" if entry.get("deleted") else "channel"
    category = entry.get("category")
    return format_html(
        '<span class="{}" title="{}" data-copy="{}">{}</span>{}',
        css,
        channel_id,
        channel_id,
        label,
        format_html(' <span class="muted small">{}</span>', category) if category else "",
    )


@register.simple_tag
def who(user_id: str | None, name: str | None, fallback: str = "—") -> str:
    """Anyone named by id and maybe a name (a case's member or moderator, an inviter): the name,
    else the shortened id, the full id on hover; ``fallback`` without either."""
    if not user_id:
        return format_html("{}", name or fallback)
    return format_html(
        '<span class="who" title="{}" data-copy="{}"><span class="name">{}</span></span>',
        user_id,
        user_id,
        name or short_id(user_id),
    )
