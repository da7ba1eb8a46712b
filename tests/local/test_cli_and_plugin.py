"""The command line (serve, demo) as subprocesses, and the pytest fixture's registration."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest

from autumn_local import LocalAutumn
from autumn_local.cli import default_db_path

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(*args: str, **env: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autumn_local",
        "serve",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(**env),
    )
    try:
        assert proc.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            if not line:
                assert proc.stderr is not None
                raise AssertionError(f"server exited: {(await proc.stderr.read()).decode()}")
            banner += line.decode()
        yield proc, banner
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _customer(url: str, key: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/customers.get",
            json={"customer_id": "cus_123"},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        return resp.status


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_serve_prints_url_and_key_and_stops_cleanly(sig: signal.Signals) -> None:
    port = _free_port()
    async with serve("--memory", "--port", str(port), "--secret-key", "am_sk_test_cli") as (
        proc,
        banner,
    ):
        assert f"http://127.0.0.1:{port}" in banner
        assert "am_sk_test_cli" in banner
        assert ":memory:" in banner
        assert await _customer(f"http://127.0.0.1:{port}", "am_sk_test_cli") == 200
        proc.send_signal(sig)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert proc.stdout is not None
        assert b"stopped" in await proc.stdout.read()


async def test_serve_default_database_under_xdg_data_home(tmp_path: Path) -> None:
    port = _free_port()
    async with serve("--port", str(port), XDG_DATA_HOME=str(tmp_path)) as (proc, banner):
        expected = tmp_path / "autumn-local" / "autumn.db"
        assert str(expected) in banner
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    assert expected.exists()


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "autumn-local" / "autumn.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_db_path() == Path.home() / ".local/share/autumn-local/autumn.db"


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--faults", "429=lots"], "429"),
        (["--secret-key", "sk_nope"], "am_sk_"),
        (["--config", "/nonexistent/autumn.toml"], "not found"),
    ],
)
def test_serve_refuses_bad_options(args: list[str], mentions: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autumn_local", "serve", "--memory", "--port", "0", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done
    assert mentions in done.stderr


async def test_serve_with_faults_and_port_in_use() -> None:
    async with LocalAutumn() as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "autumn_local",
            "serve",
            "--memory",
            "--port",
            str(server.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 1 and b"cannot serve" in err
    async with serve("--memory", "--port", "0", "--faults", "500=0.5,seed=1") as (_, banner):
        assert "faults:" in banner and "500=0.5" in banner
        assert "rate limits" not in banner


async def test_serve_without_rate_limits() -> None:
    port = _free_port()
    async with serve("--memory", "--port", str(port), "--no-rate-limits") as (_, banner):
        assert "rate limits: off" in banner
        async with aiohttp.ClientSession() as http:
            for _ in range(30):  # beyond Autumn's 25 creates a second
                async with http.post(
                    f"http://127.0.0.1:{port}/v1/balances.create",
                    json={"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1},
                    headers={"Authorization": "Bearer am_sk_test_local"},
                ) as resp:
                    assert resp.status == 200


def test_demo_command() -> None:
    try:
        import autumn_funcs  # noqa: F401
        from autumn_funcs import balances_create  # noqa: F401
    except ImportError as exc:  # pragma: no cover - only before the SDK exists
        pytest.skip(f"the SDK is not importable yet ({exc}); the demo needs it")
    done = subprocess.run(
        [sys.executable, "-m", "autumn_local", "demo"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, (out, done.stderr)
    assert "CreateBalanceResponse(success=True)" in out
    assert "granted 1000, remaining 1000, usage 0" in out
    assert "allowed=True, remaining 1000" in out
    assert "value 5, remaining 995" in out
    assert "remaining 5, usage 995" in out
    assert "AutumnDefaultError" in out
    assert ".status_code = 404" in out
    assert "feature_not_found" in out
    assert done.stderr == ""


def test_fixture_is_registered_as_a_pytest_plugin(pytestconfig: pytest.Config) -> None:
    entry_points = metadata.entry_points(group="pytest11")
    names = {ep.name: ep.value for ep in entry_points}
    if "autumn_local" not in names:
        pytest.skip("package not installed; the entry point exists only once installed")
    assert names["autumn_local"] == "autumn_local.pytest_plugin"
    assert pytestconfig.pluginmanager.has_plugin("autumn_local")


async def test_fixture_gives_a_fresh_started_server(local_autumn: LocalAutumn) -> None:
    assert local_autumn.running
    assert local_autumn.url.startswith("http://127.0.0.1:")
    assert not local_autumn.url.endswith("/")
    assert local_autumn.secret_key == "am_sk_test_local"
    assert local_autumn.db_path is None
    assert sum(local_autumn.fault_counts.values()) == 0


async def test_start_stop_without_context_manager() -> None:
    server = LocalAutumn(port=0)
    with pytest.raises(RuntimeError):
        _ = server.url
    await server.start()
    try:
        with pytest.raises(RuntimeError):
            await server.start()
        assert await _customer(server.url, server.secret_key) == 200
    finally:
        await server.stop()
    await server.stop()  # idempotent
    assert not server.running
