"""Worker proof of life, read by /health."""

from __future__ import annotations

from django.utils import timezone

from ops.models import WorkerHeartbeat


def record_worker_heartbeat(name: str) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})
