"""The usage loop of the docs (docs/usage-loop.md) runs as written, as a script, against a
fresh local server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from autumn_local import LocalAutumn

PAGE = Path(__file__).resolve().parents[2] / "docs" / "usage-loop.md"


def usage_loop_block() -> str:
    match = re.search(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert match is not None
    return match.group(1)


async def test_the_usage_loop_runs_and_prints_what_the_page_says(
    local_autumn: LocalAutumn,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        usage_loop_block(),
        env={
            **os.environ,
            "AUTUMN_SECRET_KEY": local_autumn.secret_key,
            "AUTUMN_SERVER_URL": local_autumn.url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[:4] == [
        "Ok(CreateBalanceResponse(success=True))",
        "remaining 999",
        "Ok(UpdateBalanceResponse(success=True))",
        "granted 1000 remaining 1099",
    ]
    (balance,) = lines[4:]  # one balance: its id, remaining and reset
    assert balance.startswith("cus_ent_")
    assert " 1099 BalanceReset(interval='month'" in balance
    # Its own customer, not the seeded cus_123: the loop created it first.
    assert local_autumn.customer("user_42")["name"] == "Ada"
