"""Install the peer clients the interop tests drive, into ``tests/interop/.peers/``.

    python tests/interop/install.py          # what CI runs before pytest
    python tests/interop/install.py --force  # reinstall from scratch

The peers are clients of Autumn's API that this project did not write, pinned:

- Autumn's TypeScript SDK, npm ``autumn-js`` (it bundles ``@useautumn/sdk``),
  into ``.peers/node/node_modules`` with ``npm install --prefix``;
- the official Python SDK, PyPI ``autumn-sdk`` (httpx + pydantic), into its
  own virtual environment ``.peers/venv``, so its dependencies never mix with
  this project's.

A stamp file per peer records the pins it was installed with: a second run
with the same pins only reads the stamps (milliseconds), a changed pin
reinstalls that peer. Without ``node`` on the PATH the TypeScript peer is left
out (and its tests skip); everything else failing is an error.

Standalone on purpose (standard library only): CI runs it as a script before
the test environment is even importable as a package.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NODE_PINS",
    "PEERS_DIR",
    "PYTHON_PINS",
    "InstalledPeers",
    "PeerInstallError",
    "ensure_peers",
]

PEERS_DIR = Path(__file__).resolve().parent / ".peers"

# autumn-js 1.3.13 bundles @useautumn/sdk 0.10.18 (not published on its own);
# zod is its schema library, pinned so a new zod cannot change what "parses".
NODE_PINS: dict[str, str] = {"autumn-js": "1.3.13", "zod": "4.6.7"}
# autumn-sdk's direct dependencies are pinned for the same reason.
PYTHON_PINS: dict[str, str] = {
    "autumn-sdk": "1.2.0",
    "httpx": "0.28.1",
    "httpcore": "1.0.9",
    "pydantic": "2.14.4",
}

_STAMP = "installed.json"


class PeerInstallError(RuntimeError):
    """A peer could not be installed; the message says which command failed and why."""


@dataclass(frozen=True)
class InstalledPeers:
    """Where the installed peers are. ``node_modules`` is None when node is absent."""

    node: str | None
    node_modules: Path | None
    python: Path


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp_matches(folder: Path, pins: dict[str, str], needs: Path) -> bool:
    if not needs.exists():
        return False
    try:
        stamp = json.loads((folder / _STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("pins") == pins


def _write_stamp(folder: Path, pins: dict[str, str]) -> None:
    (folder / _STAMP).write_text(json.dumps({"pins": pins}, indent=2) + "\n", encoding="utf-8")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()[-4000:]
        raise PeerInstallError(
            f"installing {what} failed: {' '.join(cmd)} exited {proc.returncode}\n{output}"
        )


def _install_node_peer(folder: Path, pins: dict[str, str]) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise PeerInstallError("node is installed but npm is not on the PATH")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # A package.json of our own, so npm installs exactly these versions here
    # instead of walking up to some other project.
    manifest = {
        "name": "autumn-balances-interop-peers",
        "private": True,
        "description": "Peer clients for the interop tests; installed by install.py",
        "dependencies": pins,
    }
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _run(
        [
            npm,
            "install",
            "--prefix",
            str(folder),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--ignore-scripts",
        ],
        "the TypeScript peer (" + ", ".join(f"{k}@{v}" for k, v in pins.items()) + ")",
    )
    installed = json.loads(
        (folder / "node_modules" / "autumn-js" / "package.json").read_text(encoding="utf-8")
    )
    if installed.get("version") != pins["autumn-js"]:
        raise PeerInstallError(f"npm installed autumn-js {installed.get('version')}")
    _write_stamp(folder, pins)


def _install_python_peer(folder: Path, pins: dict[str, str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(folder)], "the Python peer's virtual environment")
    _run(
        [
            str(_venv_python(folder)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *(f"{name}=={version}" for name, version in pins.items()),
        ],
        "the Python peer (" + ", ".join(f"{k}=={v}" for k, v in pins.items()) + ")",
    )
    _write_stamp(folder, pins)


@contextlib.contextmanager
def _locked(peers_dir: Path) -> Iterator[None]:
    """One installer at a time (two test runs starting together on a fresh checkout)."""
    peers_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, installs are rare
        yield
        return
    with (peers_dir / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_peers(
    peers_dir: Path = PEERS_DIR, *, force: bool = False, log: bool = False
) -> InstalledPeers:
    """Install whatever peer is missing or installed with other pins; return where they are."""

    def say(message: str) -> None:
        if log:
            print(message, flush=True)

    node = shutil.which("node")
    node_dir, venv_dir = peers_dir / "node", peers_dir / "venv"
    if node is None:
        say("interop peers: node is not on the PATH; the TypeScript peer is left out")

    def pending() -> dict[str, Callable[[], None]]:
        jobs: dict[str, Callable[[], None]] = {}
        if node is not None and (
            force
            or not _stamp_matches(
                node_dir, NODE_PINS, node_dir / "node_modules" / "autumn-js" / "package.json"
            )
        ):
            jobs["autumn-js"] = lambda: _install_node_peer(node_dir, NODE_PINS)
        if force or not _stamp_matches(venv_dir, PYTHON_PINS, _venv_python(venv_dir)):
            jobs["autumn-sdk"] = lambda: _install_python_peer(venv_dir, PYTHON_PINS)
        return jobs

    if pending():
        with _locked(peers_dir):
            jobs = pending()  # another installer may have finished while we waited
            started = time.monotonic()
            if jobs:
                # Both installs mostly wait on the network: run them side by side.
                with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                    futures = {name: pool.submit(job) for name, job in jobs.items()}
                for name, future in futures.items():
                    future.result()  # re-raises the PeerInstallError
                    say(f"interop peers: installed {name}")
                say(f"interop peers: installing took {time.monotonic() - started:.1f} s")
    return InstalledPeers(
        node=node,
        node_modules=None if node is None else node_dir / "node_modules",
        python=_venv_python(venv_dir),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall both peers")
    parser.add_argument("--peers-dir", type=Path, default=PEERS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        peers = ensure_peers(args.peers_dir, force=args.force, log=True)
    except PeerInstallError as exc:
        print(f"interop peers: {exc}", file=sys.stderr)
        return 1
    node = "absent" if peers.node_modules is None else str(peers.node_modules)
    print(
        f"interop peers ready in {time.monotonic() - started:.1f} s "
        f"(node_modules: {node}; python: {peers.python})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
