"""Running a peer driver as a subprocess and reading the checks it reports."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "DriverRun", "Peer"]

HERE = Path(__file__).resolve().parent

# The drivers get a clean environment: the SDKs read AUTUMN_X_API_VERSION,
# AUTUMN_FAIL_OPEN, X_API_VERSION, FAIL_OPEN, proxy variables and more from it,
# and whatever the test runner's shell has set must not change what they send.
_KEPT_ENV = ("PATH", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL")


@dataclass(frozen=True)
class Check:
    flow: str
    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        line = f"  {'ok  ' if self.passed else 'FAIL'} {self.name}"
        return f"{line}\n{textwrap.indent(self.detail, ' ' * 6)}" if self.detail else line


@dataclass(frozen=True)
class DriverRun:
    """What one driver process reported, for all the flows it ran."""

    peer: str
    flows: tuple[str, ...]
    returncode: int
    checks: tuple[Check, ...]
    stderr: str
    stray_stdout: tuple[str, ...]

    def report(self, flow: str | None = None) -> str:
        shown = [c for c in self.checks if flow is None or c.flow == flow]
        lines = [f"{self.peer} {flow or ' '.join(self.flows)} (driver exit {self.returncode})"]
        lines += [str(c) for c in shown] or ["  no check reported for this flow"]
        if self.stray_stdout:
            lines.append("  output that is not a check:")
            lines += [f"    {line}" for line in self.stray_stdout]
        if self.stderr.strip():
            lines.append("  driver stderr:")
            lines += [f"    {line}" for line in self.stderr.strip().splitlines()[-40:]]
        return "\n".join(lines)

    def assert_passed(self, flow: str) -> None:
        """``flow`` reported checks and all passed (a driver that died reports none)."""
        checks = [c for c in self.checks if c.flow == flow]
        assert checks, self.report(flow)
        assert all(c.passed for c in checks), self.report(flow)
        assert not self.stray_stdout, self.report(flow)

    def assert_all_passed(self) -> None:
        for flow in self.flows:
            self.assert_passed(flow)
        assert self.returncode == 0, self.report()


@dataclass(frozen=True)
class Peer:
    """One client nobody here wrote, and the command that runs its driver."""

    name: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    async def run(
        self, servers: Mapping[str, str], secret_key: str, *, timeout: float = 180.0
    ) -> DriverRun:
        """Run each flow of ``servers`` (flow name -> URL of its server) in one process."""
        env = self._environment()
        env["AUTUMN_SECRET_KEY"] = secret_key
        argv = [*self.command, *(f"{flow}={url}" for flow, url in servers.items())]
        stdout, stderr, returncode = await self._exec(argv, env, timeout)
        checks: list[Check] = []
        stray: list[str] = []
        for line in stdout.splitlines():
            try:
                raw = json.loads(line)
                checks.append(
                    Check(
                        str(raw["flow"]),
                        str(raw["name"]),
                        raw["passed"] is True,
                        str(raw.get("detail", "")),
                    )
                )
            except (ValueError, KeyError, TypeError):
                stray.append(line)
        return DriverRun(self.name, tuple(servers), returncode, tuple(checks), stderr, tuple(stray))

    async def list_flows(self) -> list[str]:
        stdout, stderr, returncode = await self._exec(
            [*self.command, "--list"], self._environment(), 60.0
        )
        assert returncode == 0, stderr
        flows: list[str] = json.loads(stdout)
        return flows

    def _environment(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
        env.update(self.env)
        return env

    async def _exec(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> tuple[str, str, int]:
        # An asyncio subprocess: the server under test runs on this event loop,
        # so a blocking wait would stop it from answering the driver.
        proc = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            cwd=HERE,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
            err += f"\n(killed after {timeout:.0f} s)".encode()
        assert proc.returncode is not None
        return out.decode(errors="replace"), err.decode(errors="replace"), proc.returncode
