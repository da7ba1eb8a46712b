"""Process plumbing shared by the benchmarks: paths, servers, JSON-speaking subprocesses, tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PEER_VENV = BENCH / ".venv-peer"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_REQUIREMENTS = BENCH / "peer-requirements.txt"
SDK_PYTHON = sys.executable
SECRET_KEY = "am_sk_test_bench"
# Clients on one core, servers on another, so neither steals the other's CPU and
# wake-ups always cross cores the same way (unpinned runs flip between two modes).
_CPUS = sorted(os.sched_getaffinity(0))
CLIENT_CPUS = {_CPUS[0]} if len(_CPUS) >= 2 else set(_CPUS)
SERVER_CPUS = {_CPUS[1]} if len(_CPUS) >= 2 else set(_CPUS)
CREATE_BODY = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}


def sdk_env() -> dict[str, str]:
    """Environment for child processes: the repository importable, no stray bytecode flags."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def pin_to_client_cpu() -> None:
    """Pin this process, and so every client it starts, to the client core."""
    os.sched_setaffinity(0, CLIENT_CPUS)


def _pin_to_server_cpu() -> None:
    os.sched_setaffinity(0, SERVER_CPUS)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


@contextlib.contextmanager
def server_process(argv: Sequence[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server listening on ``port``; stop it (and only it) on exit."""
    proc = subprocess.Popen(
        argv, env=sdk_env(), cwd=REPO, stdout=subprocess.DEVNULL, preexec_fn=_pin_to_server_cpu
    )
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Running:
    port: int
    pid: int


@contextlib.contextmanager
def fixed_server(hold: int = 0) -> Iterator[Running]:
    """The fixed-response server in its own process."""
    port = free_port()
    argv = [SDK_PYTHON, str(BENCH / "fixed_server.py"), "--port", str(port), "--hold", str(hold)]
    with server_process(argv, port) as proc:
        yield Running(port, proc.pid)


def run_json(argv: Sequence[str], timeout: float = 120.0) -> Any:
    """Run a child that prints one JSON value as its last stdout line; return that value."""
    done = subprocess.run(
        argv, env=sdk_env(), cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def proc_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot, stolen time included (Linux /proc)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OthersLoad:
    """How much CPU processes other than this one, its children and one server used.

    Wrap one measurement in ``with load.measuring():``; ``shares`` then holds,
    per measurement, the cores' worth of CPU the rest of the machine used
    meanwhile (0.5 = half a core on average). Other work on the machine shows
    up as slower clients, so a benchmark reports this next to its figures.
    """

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.shares: list[float] = []

    def _ours(self) -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (
            me.ru_utime
            + me.ru_stime
            + children.ru_utime
            + children.ru_stime
            + proc_cpu_seconds(self.server_pid)
        )

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        busy0, ours0, wall0 = machine_busy_seconds(), self._ours(), time.monotonic()
        yield
        others = machine_busy_seconds() - busy0 - (self._ours() - ours0)
        self.shares.append(max(0.0, others) / (time.monotonic() - wall0))

    def summary(self) -> str:
        if not self.shares:
            return "not measured"
        mean = sum(self.shares) / len(self.shares)
        return f"{mean:.0%} of a core on average, at most {max(self.shares):.0%} during one sample"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def ensure_peer_venv() -> None:
    """Create bench/.venv-peer with the official autumn-sdk, once per requirements file."""
    stamp = PEER_VENV / "requirements.installed"
    wanted = PEER_REQUIREMENTS.read_text()
    if PEER_PYTHON.exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    log(f"setting up {PEER_VENV.relative_to(REPO)} (autumn-sdk from PyPI) ...")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_PYTHON), "-m", "pip", "install", "-q", "-r", str(PEER_REQUIREMENTS)],
        check=True,
    )
    stamp.write_text(wanted)


def peer_versions() -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m;"
        "print(json.dumps({n: m.version(n) for n in ('autumn-sdk', 'httpx', 'pydantic')}))"
    )
    out = subprocess.run([str(PEER_PYTHON), "-c", code], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def machine_description() -> str:
    import aiohttp

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    peer = peer_versions()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}; "
        f"peer autumn-sdk {peer['autumn-sdk']} (httpx {peer['httpx']}, "
        f"pydantic {peer['pydantic']}); commit {commit or 'unknown'}; "
        f"clients pinned to CPU {min(CLIENT_CPUS)}, servers to CPU {min(SERVER_CPUS)}"
    )


@dataclass
class Target:
    name: str
    measured: str
    limit: str
    ok: bool | None  # None: could not be measured

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a"}[self.ok]


@dataclass
class Section:
    title: str
    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"### {self.title}", "", *markdown_table(self.header, self.rows)]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def targets_section(targets: Sequence[Target]) -> Section:
    return Section(
        "Targets",
        ["target", "measured", "limit", "verdict"],
        [[t.name, t.measured, t.limit, t.verdict] for t in targets],
    )
