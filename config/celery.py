"""The Celery app: one instance, configured from Django settings (``CELERY_*``)."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("guildstats")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Database connections across a PostgreSQL outage. Celery's Django fixup keeps a worker's
# connection for CELERY_DB_REUSE_MAX tasks and never looks at its health, so a pool child whose
# connection died (PostgreSQL restarted) failed every task until the reuse count ran out (7.5+
# minutes in one run). Django's own per-request hook, ``close_old_connections``, does what is
# missing: it closes a connection that had an error and no longer answers (or is past
# CONN_MAX_AGE), and re-arms CONN_HEALTH_CHECKS so the task's first query checks the
# connection and reconnects if it is dead. We call it before every task (a connection broken
# while idle) and after every task (one broken during a failed task is dropped at once).
# Tasks run inline (eager, in tests) share the caller's connection and transaction: left alone.
@task_prerun.connect
def _close_unusable_connections_before(task: Any = None, **kwargs: Any) -> None:
    _close_unusable_connections(task)


@task_postrun.connect
def _close_unusable_connections_after(task: Any = None, **kwargs: Any) -> None:
    _close_unusable_connections(task)


def _close_unusable_connections(task: Any) -> None:
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
