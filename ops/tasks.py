"""Operations' Celery tasks (their names kept from the ``stats`` app for queued tasks)."""

from __future__ import annotations

import socket

from celery import shared_task

from ops import heartbeat, retention


@shared_task(name="stats.tasks.record_worker_heartbeat")
def record_worker_heartbeat() -> None:
    heartbeat.record_worker_heartbeat(socket.gethostname())


@shared_task(
    name="stats.tasks.apply_retention",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def apply_retention() -> dict[str, int]:
    return retention.apply_retention()


@shared_task(
    name="stats.tasks.compress_old_chunks",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def compress_old_chunks() -> dict[str, int]:
    return retention.compress_old_chunks()
