"""A client nobody closes neither keeps the process alive nor prints anything at exit.

Run in fresh interpreters with ResourceWarnings shown, since what matters happens
at interpreter shutdown.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import threading

import aiohttp

from autumn_funcs import AutumnSync
from autumn_local import LocalAutumn
from tests.blocking.server_thread import ServerThread

close_session = aiohttp.ClientSession.close


async def close_and_tell(session):
    print("pool closed", flush=True)
    await close_session(session)


aiohttp.ClientSession.close = close_and_tell  # only the client under test has a session
servers = ServerThread().__enter__()
server = servers.run(LocalAutumn().start())
autumn = AutumnSync(server.secret_key, server_url=server.url)
{body}
servers.run(server.stop())
servers.__exit__(None, None, None)
print("threads at exit:", sorted(t.name for t in threading.enumerate()))
"""

BODIES = {
    "used": """
autumn.balances.create(customer_id="cus_123", feature_id="api_calls", included_grant=1)
""",
    "never used": "",
    "used from another thread": """
caller = threading.Thread(
    target=autumn.balances.create,
    kwargs={"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1},
)
caller.start()
caller.join()
""",
    "kept in a cycle": """
import gc
gc.disable()  # a collection could close the client before the exit this case is about
autumn.balances.create(customer_id="cus_123", feature_id="api_calls", included_grant=1)
holder = {"autumn": autumn}
holder["self"] = holder
del autumn, holder
""",
}


@pytest.mark.parametrize("case", sorted(BODIES))
def test_a_client_never_closed_exits_quietly(case: str) -> None:
    script = textwrap.dedent(SCRIPT).format(body=textwrap.dedent(BODIES[case]))
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a process kept alive by the client's thread fails here
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if case != "never used":  # the loop thread was running until the end of the script...
        assert "AutumnSync-loop" in done.stdout
        assert "pool closed" in done.stdout  # ...and its pool was closed before the exit
