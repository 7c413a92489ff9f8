"""Finding and removing one member's id inside free-form values (event data, case details)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet, TextField
from django.db.models.functions import Cast

ERASED = "erased"


def naming(queryset: QuerySet[Any], field: str, user_id: int) -> QuerySet[Any]:
    """Rows of ``queryset`` whose ``field`` (JSON or text) holds the id's digits anywhere."""
    annotated: QuerySet[Any] = queryset.annotate(_as_text=Cast(field, TextField()))
    return annotated.filter(_as_text__contains=str(user_id))


def scrub(value: Any, user_id: int) -> Any:
    """``value`` without the member: object keys and list items that are the id are dropped,
    and so are list items that describe the member (an object whose ``id`` is theirs: a
    directory entry with their names), values that are the id become null, the id inside
    longer text becomes "erased"."""
    text = str(user_id)
    if isinstance(value, dict):
        return {k: scrub(v, user_id) for k, v in value.items() if k != text}
    if isinstance(value, list):
        return [
            scrub(v, user_id) for v in value if v not in (text, user_id) and not _is_them(v, text)
        ]
    if isinstance(value, str):
        if value == text:
            return None
        return value.replace(text, ERASED) if text in value else value
    if isinstance(value, int) and not isinstance(value, bool) and value == user_id:
        return None
    return value


def scrub_rows(queryset: QuerySet[Any], fields: tuple[str, ...], user_id: int) -> int:
    """Rewrite ``fields`` of every row of ``queryset`` that names the member; return how many."""
    count = 0
    for name in fields:
        for row in naming(queryset, name, user_id).only("pk", *fields).iterator():
            _scrub_row(row, fields, user_id)
            count += 1
    return count


def _scrub_row(row: Model, fields: tuple[str, ...], user_id: int) -> None:
    for name in fields:
        setattr(row, name, scrub(getattr(row, name), user_id))
    type(row)._default_manager.filter(pk=row.pk).update(
        **{name: getattr(row, name) for name in fields}
    )


def _is_them(value: Any, text: str) -> bool:
    return isinstance(value, dict) and value.get("id") in (text, int(text))
