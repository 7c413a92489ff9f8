"""``make run``: the Procfile's processes under supervisord, which restarts any that dies.

honcho (what ``make run`` used before) stops every process when one exits; supervisord keeps
the others running and restarts the one that died (a Celery worker that exits after a broker
outage, say). The Procfile stays the one list of processes (also read by compose.yaml's test);
this writes a supervisord configuration from it into ``var/`` and runs supervisord in the
foreground, every process logging to this terminal.

    python scripts/run.py            # what make run does
    python scripts/run.py --config   # only write the configuration and print its path
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """name -> command, in file order."""
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def supervisord_config(var_dir: Path, processes: dict[str, str]) -> str:
    sections = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={var_dir / 'supervisord.log'}",
        f"pidfile={var_dir / 'supervisord.pid'}",
        f"directory={ROOT}",
        "",
        "[unix_http_server]",
        f"file={var_dir / 'supervisor.sock'}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{var_dir / 'supervisor.sock'}",
        "",
    ]
    for name, command in processes.items():
        # the shell expands the Procfile's ${VAR:-default}s and leading VAR=value assignments;
        # exec hands the process the shell's pid, so signals reach it. supervisord's own
        # %-interpolation is escaped.
        prefix = "exec env" if "=" in command.split()[0] else "exec"
        shell = shlex.quote(f"{prefix} {command}")
        sections += [
            f"[program:{name}]",
            f"command=/bin/sh -c {shell}".replace("%", "%%"),
            "autorestart=true",
            "startsecs=3",
            "startretries=1000",
            "stopasgroup=true",
            "killasgroup=true",
            "stopwaitsecs=20",
            "redirect_stderr=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "",
        ]
    return "\n".join(sections)


def main(argv: list[str]) -> int:
    var_dir = Path(os.environ.get("GUILDSTATS_VAR_DIR", ROOT / "var")).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    config = var_dir / "supervisord.conf"
    config.write_text(supervisord_config(var_dir, procfile()))
    if "--config" in argv:
        print(config)
        return 0
    supervisord = Path(sys.executable).with_name("supervisord")
    os.execv(str(supervisord), [str(supervisord), "-c", str(config)])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
