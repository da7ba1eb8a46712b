"""The blocking client's example (docs/blocking.md) runs as written, against the local server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from autumn_local import LocalAutumn
from tests.blocking.server_thread import balance

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    page = (ROOT / "docs" / "blocking.md").read_text()
    match = re.search(r"```python\n(.*?)```", page, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_readme_example_runs(local_server: LocalAutumn) -> None:
    done = subprocess.run(
        [sys.executable, "-c", readme_example()],
        env={
            **os.environ,
            "AUTUMN_SECRET_KEY": local_server.secret_key,
            "AUTUMN_SERVER_URL": local_server.url,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Ok(UpdateBalanceResponse(success=True))\n"
    assert balance(local_server, "cus_123")["remaining"] == 5
