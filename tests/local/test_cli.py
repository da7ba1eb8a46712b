"""The command line (``serve``, ``demo``, ``--help``, ``--version``) as subprocesses."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest

from autumn_local import LocalAutumn
from autumn_local.run.cli import _parser
from tests.local.processes import free_port, serve, server_env


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


async def _grant(url: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/balances.create",
            json={"customer_id": "cus_123", "feature_id": "seats", "included_grant": 5},
            headers={"Authorization": "Bearer am_sk_test_local"},
        ) as resp,
    ):
        assert resp.status == 200


async def _granted(url: str) -> object:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/customers.get",
            json={"customer_id": "cus_123"},
            headers={"Authorization": "Bearer am_sk_test_local"},
        ) as resp,
    ):
        return (await resp.json())["balances"].get("seats", {}).get("granted")


def _files(path: Path) -> list[Path]:
    return list(path.rglob("*"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autumn_local", *args],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_serve_prints_ready_to_copy_exports_and_stops_cleanly(sig: signal.Signals) -> None:
    port = free_port()
    async with serve("--port", str(port), "--secret-key", "am_sk_test_cli") as server:
        exports = [line.strip() for line in server.banner.splitlines() if "export " in line]
        assert exports == [
            f"export AUTUMN_SERVER_URL=http://127.0.0.1:{port}",
            "export AUTUMN_SECRET_KEY=am_sk_test_cli",
        ]
        # Pasted into a shell, they give a client what it needs.
        shell = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            "; ".join([*exports, 'echo "$AUTUMN_SERVER_URL $AUTUMN_SECRET_KEY"']),
            stdout=asyncio.subprocess.PIPE,
        )
        shown = (await shell.communicate())[0].decode().split()
        assert await _customer(shown[0], shown[1]) == 200
        server.proc.send_signal(sig)
        assert await asyncio.wait_for(server.proc.wait(), 20) == 0
        assert server.proc.stdout is not None
        assert b"stopped" in await server.proc.stdout.read()


async def test_serve_keeps_nothing_by_default(tmp_path: Path) -> None:
    """A README snippet run twice starts from the same state both times."""
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    for _ in range(2):
        async with serve("--port", "0", **home) as server:
            assert "in memory, fresh on every start" in server.banner
            assert await _granted(server.url) is None
            await _grant(server.url)
            assert await _granted(server.url) == 5
    assert _files(tmp_path) == []


async def test_serve_with_db_keeps_the_data_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "autumn.db"
    for granted_before in (None, 5):
        async with serve("--port", "0", "--db", str(db)) as server:
            assert f"{db} (kept across restarts)" in server.banner
            assert await _granted(server.url) == granted_before
            if granted_before is None:
                await _grant(server.url)
            server.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.proc.wait(), 20) == 0


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--faults", "429=lots"], "429"),
        (["--secret-key", "sk_nope"], "am_sk_"),
        (["--config", "/nonexistent/autumn.toml"], "not found"),
        (["--header-timeout", "0"], "--header-timeout"),
        (["--keepalive-timeout", "soon"], "--keepalive-timeout"),
        (["--max-connections", "0"], "--max-connections"),
        (["--db", "x.db", "--memory"], "not allowed with"),
        (["--db", "/no/such/dir/x.db"], "the directory /no/such/dir does not exist"),
        (["--db", "/tmp"], "/tmp is a directory"),
        (["--batch-apply-delay", "-1"], "--batch-apply-delay"),
    ],
)
def test_serve_refuses_bad_options(args: list[str], mentions: str) -> None:
    done = run_cli("serve", "--port", "0", *args)
    assert done.returncode == 2, done
    assert mentions in done.stderr


async def test_serve_with_faults_and_port_in_use() -> None:
    async with LocalAutumn() as server:
        done = await asyncio.to_thread(run_cli, "serve", "--port", str(server.port))
        assert done.returncode == 1 and "cannot serve" in done.stderr
    async with serve("--port", "0", "--faults", "500=0.5,seed=1") as served:
        assert "faults:" in served.banner and "500=0.5" in served.banner
        assert "rate limits" not in served.banner


async def test_serve_without_rate_limits() -> None:
    port = free_port()
    async with serve("--port", str(port), "--no-rate-limits") as server:
        assert "rate limits: off" in server.banner
        async with aiohttp.ClientSession() as http:
            for _ in range(30):  # beyond Autumn's 25 creates a second
                async with http.post(
                    f"http://127.0.0.1:{port}/v1/balances.create",
                    json={"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1},
                    headers={"Authorization": "Bearer am_sk_test_local"},
                ) as resp:
                    assert resp.status == 200


async def test_serve_with_a_batch_apply_delay_says_so() -> None:
    async with serve("--port", "0", "--batch-apply-delay", "2.5") as served:
        assert "batch_track: applied 2.5 s after the answer" in served.banner


def test_help_shows_every_options_default() -> None:
    serve_parser = _parser("autumn-local")._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    options = [
        a for a in serve_parser._actions if a.option_strings and a.dest not in ("help", "version")
    ]
    assert len(options) >= 14
    for action in options:
        assert action.help is not None and "default" in action.help, action.option_strings
    shown = run_cli("serve", "--help").stdout
    assert "(default: 127.0.0.1)" in shown and "(default: 8080)" in shown
    assert "(default: 10)" in shown and "(default: 1000)" in shown


def test_help_documents_the_config_format_and_it_loads(tmp_path: Path) -> None:
    pytest.importorskip("tomllib", reason="TOML needs Python 3.11 (or tomli)")
    shown = run_cli("serve", "--help").stdout
    example = shown.split("# autumn-local.toml\n", 1)[1].split("\nThe same as JSON", 1)[0]
    config = tmp_path / "autumn-local.toml"
    config.write_text(textwrap.dedent(example))

    async def check() -> None:
        async with LocalAutumn(config=config, secret_key="am_sk_test_local") as server:
            balances = server.customer("cus_456")["balances"]
            assert balances["credits"]["granted"] == 500
            assert server.entity("cus_456", "seat_1")["name"] == "Seat one"

    asyncio.run(check())


def test_version() -> None:
    try:
        version = metadata.version("autumn-balances")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    for args in (["--version"], ["serve", "--version"]):
        done = run_cli(*args)
        assert (done.returncode, done.stdout) == (0, f"python -m autumn_local {version}\n"), args


def test_autumn_local_console_command() -> None:
    names = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    if "autumn-local" not in names:
        pytest.skip("package not installed; the command exists only once installed")
    assert names["autumn-local"] == "autumn_local.run.cli:main"
    command = shutil.which("autumn-local", path=str(Path(sys.executable).parent))
    assert command is not None
    done = subprocess.run([command, "serve", "--help"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("usage: autumn-local serve")


def test_demo_command() -> None:
    try:
        import autumn_funcs  # noqa: F401
        from autumn_funcs import balances_create  # noqa: F401
    except ImportError as exc:  # pragma: no cover - only before the SDK exists
        pytest.skip(f"the SDK is not importable yet ({exc}); the demo needs it")
    done = run_cli("demo")
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


async def test_banner_names_each_limit() -> None:
    limits = ("--keepalive-timeout", "7", "--header-timeout", "3", "--body-timeout", "4.5")
    async with serve("--port", "0", *limits) as server:
        found = re.search(r"idle (\S+) s, request head (\S+) s, body (\S+) s", server.banner)
        assert found is not None and found.groups() == ("7", "3", "4.5"), server.banner
