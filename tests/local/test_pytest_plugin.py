"""The pytest plugin: its fixtures, its import cost, and the testing recipes of the docs.

Each recipe is read from docs/testing.md and run in a pytest process of its own,
with the configuration its mode needs, so the documentation cannot drift
from what works.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from autumn_core import AutumnCore
from autumn_funcs import customers_get
from autumn_local import LocalAutumn
from autumn_local.pytest_plugin import TEST_TIMEOUT_MS, TEST_TOTAL_TIMEOUT_MS
from tests.local.processes import ROOT, server_env
from tests.type_checkers import errors, run_mypy, run_pyright

TESTING = ROOT / "docs" / "testing.md"

# The configuration each recipe says it needs (pytest-asyncio's default is strict),
# plus the loop scope pytest-asyncio asks every project to set.
LOOP_SCOPE = '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
RECIPES = {
    "pytest-asyncio-auto": LOOP_SCOPE + 'asyncio_mode = "auto"\n',
    "pytest-asyncio-strict": LOOP_SCOPE + 'asyncio_mode = "strict"\n',
    # pytest-asyncio's strict mode leaves anyio's tests alone; its loop scope set all the same.
    "anyio": LOOP_SCOPE,
    "fastapi-async": LOOP_SCOPE + 'asyncio_mode = "auto"\n',
    # Python 3.10's Starlette warns that its TestClient runs on httpx: the page says to
    # ignore that one warning there.
    "fastapi-testclient": LOOP_SCOPE
    + 'asyncio_mode = "auto"\n'
    + 'filterwarnings = ["ignore:Using `httpx` with `starlette.testclient` is deprecated"]\n',
}


def recipe(name: str) -> str:
    found = re.search(
        rf"<!-- recipe: {re.escape(name)} -->\n```python\n(.*?)```", TESTING.read_text(), re.S
    )
    assert found is not None, f"no recipe {name!r} in docs/testing.md"
    return found.group(1)


def plugin_is_installed() -> bool:
    return any(ep.name == "autumn_local" for ep in metadata.entry_points(group="pytest11"))


def _pytest_command(*args: str) -> list[str]:
    # From a plain checkout the entry point does not exist: name the plugin.
    plugin = [] if plugin_is_installed() else ["-p", "autumn_local.pytest_plugin"]
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *plugin, *args]


def run_pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _pytest_command(),
        cwd=directory,
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def recipe_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """Every recipe's pytest run, started together (each is mostly start-up time)."""
    running = {}
    for name, config in RECIPES.items():
        directory = tmp_path_factory.mktemp(name)
        (directory / "pyproject.toml").write_text(config)
        (directory / "test_recipe.py").write_text(recipe(name))
        running[name] = subprocess.Popen(
            _pytest_command(),
            cwd=directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=server_env(),
        )
    outputs = {name: proc.communicate(timeout=120)[0] for name, proc in running.items()}
    return {name: (running[name].returncode, output) for name, output in outputs.items()}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_readme_recipe_passes_in_its_mode(
    recipe_runs: dict[str, tuple[int, str]], name: str
) -> None:
    returncode, output = recipe_runs[name]
    assert returncode == 0, output[-4000:]
    assert re.search(r"\b1 passed\b", output), output
    # With the settings the page gives, not one warning (pytest-asyncio's loop scope,
    # Starlette's httpx notice, an unclosed session).
    assert "warning" not in output.lower(), output


def test_the_recipes_type_check_as_user_code(tmp_path: Path) -> None:
    """`local_autumn: LocalAutumn` and the rest, as the recipes write them: mypy --strict
    and pyright strict find nothing to say."""
    for name in RECIPES:
        (tmp_path / f"test_{name.replace('-', '_')}.py").write_text(recipe(name))
    files = sorted(path.name for path in tmp_path.glob("test_*.py"))
    assert errors(run_mypy(tmp_path, files)) == []
    # Under the rules of the Python running the tests: Starlette's TestClient imports
    # typing.Self, which pyright's 3.10 rules do not know, whatever the code using it.
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert errors(run_pyright(tmp_path, python_version=running)) == []


def test_a_synchronous_test_asking_for_local_autumn_fails_at_once(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(RECIPES["pytest-asyncio-auto"])
    (tmp_path / "test_sync.py").write_text(
        "import urllib.request\n\n\n"
        "def test_sync(local_autumn):\n"
        "    urllib.request.urlopen(local_autumn.url + '/v1/customers.get', timeout=30)\n"
    )
    done = run_pytest(tmp_path)
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout, done.stdout
    assert "test_sync is a synchronous test" in done.stdout
    assert "Ask for local_autumn_thread" in done.stdout


async def test_local_autumn_core_is_pointed_at_local_autumn_with_test_sized_timeouts(
    local_autumn: LocalAutumn, local_autumn_core: AutumnCore
) -> None:
    config = local_autumn_core.config
    assert (config.server_url, config.timeout_ms, config.total_timeout_ms) == (
        local_autumn.url,
        TEST_TIMEOUT_MS,
        TEST_TOTAL_TIMEOUT_MS,
    )
    res = await customers_get(local_autumn_core, {"customer_id": "cus_123"})
    assert res.ok


def test_the_plain_async_test_needs_auto_mode(tmp_path: Path) -> None:
    """As the docs say: in strict mode the unmarked test is not run by pytest-asyncio."""
    (tmp_path / "pyproject.toml").write_text(RECIPES["pytest-asyncio-strict"])
    (tmp_path / "test_recipe.py").write_text(recipe("pytest-asyncio-auto"))
    done = run_pytest(tmp_path)
    assert "1 passed" not in done.stdout, done.stdout


def test_loading_the_plugin_imports_no_server() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import pytest
        import autumn_local.pytest_plugin
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "sqlite3"))
        ours = sorted(m for m in sys.modules if m.startswith("autumn_local"))
        print(heavy, ours)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=server_env(), check=True
    )
    assert done.stdout.strip() == "[] ['autumn_local', 'autumn_local.pytest_plugin']"


def test_package_names_still_import_on_first_use() -> None:
    import autumn_local

    assert autumn_local.LocalAutumn is LocalAutumn
    from autumn_local import DEFAULT_SECRET_KEY, FAULT_KINDS, Clock, FaultSpec, LocalAutumnThread

    assert DEFAULT_SECRET_KEY == "am_sk_test_local"
    assert "reset" in FAULT_KINDS and Clock and FaultSpec and LocalAutumnThread
    assert set(autumn_local.__all__) <= set(dir(autumn_local))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = autumn_local.Nope  # type: ignore[attr-defined]


def test_fixture_is_registered_as_a_pytest_plugin(pytestconfig: pytest.Config) -> None:
    names = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
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
    assert local_autumn.customer("cus_123")["balances"] == {}


def test_thread_fixture_gives_a_fresh_started_server(local_autumn_thread: LocalAutumn) -> None:
    assert local_autumn_thread.running
    assert local_autumn_thread.customer("cus_123")["balances"] == {}


def test_session_thread_fixture_is_one_server(
    local_autumn_thread_session: LocalAutumn, request: pytest.FixtureRequest
) -> None:
    assert local_autumn_thread_session.running
    assert request.getfixturevalue("local_autumn_thread_session") is local_autumn_thread_session


async def test_start_stop_without_context_manager() -> None:
    server = LocalAutumn(port=0)
    with pytest.raises(RuntimeError):
        _ = server.url
    await server.start()
    try:
        with pytest.raises(RuntimeError):
            await server.start()
        assert server.customer("cus_123")["id"] == "cus_123"
    finally:
        await server.stop()
    await server.stop()  # idempotent
    assert not server.running
