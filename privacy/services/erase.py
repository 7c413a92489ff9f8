"""Erase one member of one guild from every app, in one transaction, with an audit entry.

Privacy knows no app's tables: each app registers in its ``ready()`` an eraser (its rows about
the member) and, where it needs one, an erase scope around every eraser (``core.registry``):
the rollups' lock and the recomputation of the snapshots the member counted in (stats), the
transaction and the guild's processing-shard lock (pipeline), and the audit entry written here,
inside that transaction and after the recomputation, so that it records every count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from django.db import transaction

from core.registry import registry
from privacy.models import PrivacyAudit

AUDIT_ORDER = 20  # inside the pipeline's transaction (10), outside the stats' recomputation (30)


def erase_member(guild_id: int, user_id: int, *, actor: str) -> dict[str, Any]:
    """Erase the member ``user_id`` from ``guild_id``; return the rows changed per table
    (also stored in the audit entry written in the same transaction)."""
    report: dict[str, Any] = {}
    audit: AbstractContextManager[None] | None = _audit(guild_id, user_id, actor, report)
    with ExitStack() as scopes:
        for order, scope in registry.erase_scopes():
            if audit is not None and order > AUDIT_ORDER:
                scopes.enter_context(audit)
                audit = None
            scopes.enter_context(scope(guild_id, user_id, report))
        if audit is not None:
            scopes.enter_context(audit)
        with transaction.atomic():  # a savepoint inside the pipeline's transaction
            for eraser in registry.erasers():
                report.update(eraser(guild_id, user_id))
    return report


def erase_members(members: Iterable[tuple[int, int]], *, actor: str) -> int:
    """Erase each (guild id, user id), one transaction each; return how many."""
    count = 0
    for guild_id, user_id in members:
        erase_member(guild_id, user_id, actor=actor)
        count += 1
    return count


@contextmanager
def _audit(guild_id: int, user_id: int, actor: str, report: dict[str, Any]) -> Iterator[None]:
    """Write the audit entry once every eraser and the scopes inside this one are done."""
    yield
    PrivacyAudit.objects.create(
        actor=actor[:150],
        action=PrivacyAudit.ERASE,
        guild_id=guild_id,
        user_id=user_id,
        details=report,
    )
