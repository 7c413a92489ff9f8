"""What the ingest benchmark measures of its processes: CPU seconds by role, memory, the
machine's busy and stolen time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def memory_of_tree(pid: int) -> tuple[int, int, int]:
    """(largest process RSS, total RSS, total PSS) in bytes for ``pid`` and its children.

    Pool processes are forked from the worker's parent and share its pages: total RSS counts
    those pages once per process, PSS (proportional set size) splits them, so total PSS is the
    memory the worker really uses.
    """
    rss, pss = [], 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss.append(int(line.split()[1]) * 1024)
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return (max(rss) if rss else 0, sum(rss), pss)


def machine_cpu() -> tuple[float, float, float]:
    """(busy, idle, steal) seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / tick, (idle + iowait) / tick, steal / tick


def _tree(pid: int) -> set[int]:
    """``pid`` and its direct children (uvicorn workers, Celery pool processes)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return {pid, *(int(c) for c in children)}


def cpu_seconds_by_role(server_pid: int, worker_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the server, the worker tree and PostgreSQL."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"server": 0.0, "worker": 0.0, "postgres": 0.0, "this client": 0.0}
    worker_tree, server_tree = _tree(worker_pid), _tree(server_pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        if pid in server_tree:
            totals["server"] += seconds
        elif pid in worker_tree:
            totals["worker"] += seconds
        elif comm.startswith("postgres") or comm.startswith("postmaster"):
            totals["postgres"] += seconds
        elif pid == os.getpid():
            totals["this client"] += seconds
    return totals


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_process, self.peak_total, self.peak_pss = pid, 0, 0, 0
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            largest, total, pss = memory_of_tree(self.pid)
            self.peak_process = max(self.peak_process, largest)
            self.peak_total = max(self.peak_total, total)
            self.peak_pss = max(self.peak_pss, pss)
            time.sleep(0.2)
