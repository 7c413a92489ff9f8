"""The one pagination of the API and the pages: ``?page=&pageSize=`` over a query, answered
with the page's rows and ``pagination`` (total, page, pageSize, totalPages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypedDict, TypeVar

Row = TypeVar("Row")
Out = TypeVar("Out")
RowOut = TypeVar("RowOut", covariant=True)


class Rows(Protocol[RowOut]):
    """A queryset (or anything that counts and slices like one)."""

    def count(self) -> int: ...

    def __getitem__(self, index: slice) -> Any: ...


class Pagination(TypedDict):
    total: int
    page: int
    pageSize: int
    totalPages: int


def page_of(
    rows: Rows[Row] | list[Row],
    *,
    page: int,
    page_size: int,
    total: int | None = None,
    row: Callable[[Row], Out],
) -> tuple[list[Out], Pagination]:
    """Page ``page`` (from 1) of ``rows`` (a queryset is sliced in SQL) as ``row`` makes each
    one, and its pagination; ``total``: the count when the caller knows it cheaper."""
    if total is None:
        total = len(rows) if isinstance(rows, list) else rows.count()
    offset = (page - 1) * page_size
    found: list[Row] = list(rows[offset : offset + page_size])
    return [row(r) for r in found], {
        "total": total,
        "page": page,
        "pageSize": page_size,
        "totalPages": (total + page_size - 1) // page_size,
    }
