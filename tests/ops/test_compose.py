"""compose.yaml (the production topology) agrees with the Procfile and the settings. Docker
cannot run here, so the file is checked by reading it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from scripts.run import procfile

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def settings_variables() -> set[str]:
    """Every environment variable the settings read (config/*.py) or the Procfile expands."""
    names: set[str] = set()
    for path in (ROOT / "config").glob("*.py"):
        names |= set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
        names |= set(re.findall(r'environ\.get\("([A-Z][A-Z0-9_]+)"', path.read_text()))
    names |= set(re.findall(r"\$\{(\w+):-", (ROOT / "Procfile").read_text()))
    return names


def test_every_procfile_process_runs_as_a_service_with_the_same_command():
    for name, command in procfile().items():
        service = SERVICES[name]
        # the image installs into the system Python (no .venv); $$ leaves ${…} to the shell
        expected = command.replace(".venv/bin/", "").replace("${", "$${")
        if "=" in expected.split()[0]:
            expected = "env " + expected
        assert service["command"] == ["sh", "-c", f"exec {expected}"], name


def test_long_running_services_restart_and_have_health_checks():
    for name in ("db", "redis", "web", "worker", "beat"):
        assert SERVICES[name]["restart"] == "unless-stopped", name
    for name in ("db", "redis", "web", "worker"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        needs = SERVICES[name]["depends_on"]
        assert needs["db"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
        assert needs["migrate"]["condition"] == "service_completed_successfully"


def test_environment_uses_only_variables_the_settings_know():
    known = settings_variables() | {"DATABASE_URL"}
    for name in ("web", "worker", "beat", "migrate"):
        environment = SERVICES[name]["environment"]
        assert set(environment) <= known, set(environment) - known
        assert environment["DATABASE_URL"].startswith("timescale://")  # TimescaleDB image
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert environment["DEBUG"] == "false"


def test_data_lives_in_volumes():
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata", "appdata"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["db"]["volumes"]
    assert SERVICES["web"]["environment"]["GUILDSTATS_VAR_DIR"] == "/data"
    assert "appdata:/data" in SERVICES["web"]["volumes"]
