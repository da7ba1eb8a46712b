"""``python -m autumn_local serve`` as a subprocess, for tests of the command line and of
what only a real second process can show (a shared database file, SIGKILL, fd limits)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def server_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that imports this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    banner: str
    stderr_path: Path

    @property
    def url(self) -> str:
        found = re.search(r"http://127\.0\.0\.1:\d+", self.banner)
        assert found is not None, self.banner
        return found.group(0)

    def stderr(self) -> str:
        """What the server wrote to stderr so far (its log)."""
        return self.stderr_path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def serve(*args: str, prelude: str | None = None, **env: str) -> AsyncIterator[Served]:
    """Run ``serve`` with ``args`` until its banner is printed; kill it on exit.

    ``prelude``: Python run in the server process before the command line
    (e.g. to lower its file descriptor limit). stderr goes to a file, never a
    pipe nobody reads, so a chatty server cannot block on it.
    """
    if prelude is None:
        command = ["-m", "autumn_local"]
    else:
        main = "import sys; from autumn_local.run.cli import main; sys.exit(main(sys.argv[1:]))"
        command = ["-c", prelude + "\n" + main]
    with tempfile.TemporaryDirectory() as tmp:
        stderr_path = Path(tmp) / "stderr.txt"
        with stderr_path.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *command,
                "serve",
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=server_env(**env),
            )
        try:
            assert proc.stdout is not None
            banner = ""
            while "Ctrl-C" not in banner:
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                if not line:
                    await proc.wait()
                    raise AssertionError(f"server exited: {stderr_path.read_text()}")
                banner += line.decode()
            yield Served(proc, banner, stderr_path)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
