"""Database helpers that every layer may use."""

from __future__ import annotations

from django.db import InterfaceError, InternalError, OperationalError

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
