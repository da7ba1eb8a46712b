"""``python -m autumn_local demo``: placeholder until the SDK lands."""

from __future__ import annotations


async def run_demo() -> int:
    raise SystemExit("demo: not written yet")
