"""Typed readers for environment variables, so every setting has one safe embedded default."""

from __future__ import annotations

import os
from typing import NotRequired, TypedDict


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be a number, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


class GuildstatsSettings(TypedDict):
    """``settings.GUILDSTATS``: its keys and their types (config/settings.py documents each)."""

    MAX_FRAME_BYTES: int
    MAX_BATCH_EVENTS: int
    FUTURE_TOLERANCE_SECONDS: int
    RAW_RETENTION_DAYS: int
    SNAPSHOT_5MIN_RETENTION_DAYS: int
    SNAPSHOT_HOURLY_RETENTION_DAYS: int
    SNAPSHOT_DAILY_RETENTION_DAYS: int
    COMPRESS_AFTER_DAYS: int
    VOICE_SESSION_CAP_HOURS: float
    PROCESSING_SHARDS: int
    PROCESSING_CHUNK_EVENTS: int
    SWEEP_AFTER_SECONDS: int
    LAG_WARNING_SECONDS: float
    LAG_CRITICAL_SECONDS: float
    WORKER_HEARTBEAT_MAX_AGE_SECONDS: int
    WORKER_STARTUP_GRACE_SECONDS: int
    ARCHIVE_DIR: str
    ROLLUP_GRACE_SECONDS: int
    ROLLUP_WORKERS: int
    AGGREGATION_LAG_WARNING_SECONDS: int
    AGGREGATION_LAG_CRITICAL_SECONDS: int
    # tests only (otherwise GUILDSTATS_INVITE_FAKE_ACCOUNT_DAYS: invites.services.accounting)
    INVITE_FAKE_ACCOUNT_DAYS: NotRequired[int]
    # tests only (otherwise 10,000: stats.selectors.summaries.summary_min_members)
    API_SUMMARY_MIN_MEMBERS: NotRequired[int]
