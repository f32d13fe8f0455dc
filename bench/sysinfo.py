"""The machine a result was measured on, and a process's resident memory (Linux /proc)."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from importlib import metadata
from pathlib import Path


def _status_kib(field: str, pid: int | str = "self") -> int:
    """A ``/proc/<pid>/status`` memory field in KiB; 0 where /proc is not available."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size now."""
    return _status_kib("VmRSS", pid)


def peak_rss_kib(pid: int | str = "self") -> int:
    """The highest resident set size so far (the kernel's high-water mark)."""
    return _status_kib("VmHWM", pid)


def thread_cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) of each of this process's threads, by native thread
    id; empty where /proc is not available."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seconds: dict[int, float] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return seconds
    for task in tasks:
        try:
            # Fields after the command name (which may hold spaces): utime is the 12th.
            fields = Path(f"/proc/self/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        seconds[int(task)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, str]:
    """Cores, RAM, CPU, OS, Python, SQLite and the libraries on the measured path."""
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "cpu": f"{os.cpu_count()} cores, {_cpu_model()}",
        "ram": f"{_memory_gib():.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "libraries": ", ".join(
            f"{name} {_version(name)}"
            for name in (
                "python-telegram-bot",
                "aiohttp",
                "httpx",
                "httpcore",
                "aiosqlite",
                "sniffio",
            )
        ),
        "load average at start": load,
    }
