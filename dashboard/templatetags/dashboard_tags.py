from __future__ import annotations

from django import template

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
