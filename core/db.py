"""Database helpers that every layer may use."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, InterfaceError, InternalError, OperationalError
from django.db.migrations import RunPython

# SQLSTATE classes of errors that go away by themselves: connection exceptions, transaction
# rollbacks (serialization failure, deadlock), insufficient resources, operator intervention
# (admin shutdown, a cancelled statement), system errors.
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the database was unavailable rather than that the work is wrong.

    A transient error fails the whole unit of work so that it is retried as it is; any other
    error (a value the database refuses, a constraint, a bug) is the work's own fault, and
    retrying it would fail forever."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError | InternalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate is None:  # no answer from a server (lost connection), or SQLite ("locked")
        return True
    return sqlstate[:2] in _TRANSIENT_CLASSES


def log_storage_error(logger: logging.Logger, doing: str, exc: DatabaseError) -> None:
    """Log a database failure of ingest: a lost or refused connection (PostgreSQL down or
    restarting) is one warning line, as every frame fails alike during an outage; any other
    database error (a bug, a refused value) keeps its traceback."""
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("storage unavailable while %s: %s", doing, str(exc).strip())
    else:
        logger.exception("storage unavailable while %s", doing)


def move_content_types(old_app: str, new_app: str, models: list[str]) -> RunPython:
    """A migration operation that gives models moved between apps (their tables kept, through
    ``SeparateDatabaseAndState``) their content types, and so their permissions, in the new app.
    On a new database there is nothing to move: the content types are created after migrating."""

    def rename(source: str, target: str) -> Callable[[Any, Any], None]:
        def run(apps: Any, schema_editor: Any) -> None:
            content_types = apps.get_model("contenttypes", "ContentType").objects
            rows = content_types.using(schema_editor.connection.alias)
            taken = set(rows.filter(app_label=target).values_list("model", flat=True))
            rows.filter(app_label=source, model__in=[m for m in models if m not in taken]).update(
                app_label=target
            )

        return run

    return RunPython(rename(old_app, new_app), rename(new_app, old_app))
