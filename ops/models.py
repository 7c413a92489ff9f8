"""What operations read: the last heartbeat of each Celery worker (/health)."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task; /health reads it."""

    name = models.CharField(max_length=100, primary_key=True)
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "worker_heartbeats"

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at}"
