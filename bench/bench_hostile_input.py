"""What hostile input costs a ``serve`` process: memory and log.

- RSS of the server before and after 2,000 requests whose ``customer_id`` is
  half a megabyte (each refused 400 by the schema, but counted by the rate
  limiter first, as Autumn counts before validating);
- bytes the server logs for 1,000 malformed HTTP requests of 55 bytes.

    python bench/bench_hostile_input.py [--big 2000] [--malformed 1000]

Runs alone (not part of run_all): figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
MALFORMED = b"GET /v1/customers.get HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


async def big_ids(url: str, count: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    big = "x" * (512 * 1024)
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer am_sk_test_local"}) as http:
        for i in range(count):
            body = {"customer_id": f"{i}{big}", "feature_id": "api_calls", "value": 1}
            async with http.post(url + "/v1/balances.track", json=body) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
    return statuses


async def malformed(port: int, count: int) -> None:
    for _ in range(count // 100):

        async def one() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(MALFORMED)
            await reader.read(1024)
            writer.close()

        await asyncio.gather(*(one() for _ in range(100)))


async def run(big: int, bad: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "stderr.txt"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "autumn_local", "serve", "--port", "0",
                stdout=asyncio.subprocess.PIPE, stderr=log, cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )  # fmt: skip
        assert proc.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            banner += (await proc.stdout.readline()).decode()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)  # type: ignore[union-attr]
        try:
            before = rss_mb(proc.pid)
            statuses = await big_ids(url, big)
            after = rss_mb(proc.pid)
            print(
                f"{big:,} requests with a 0.5 MB customer_id (answers {statuses}): "
                f"server RSS {before:.0f} MB before, {after:.0f} MB after"
            )
            logged = log_path.stat().st_size
            await malformed(int(url.rsplit(":", 1)[1]), bad)
            await asyncio.sleep(0.2)
            grown = log_path.stat().st_size - logged
            lines = log_path.read_text(errors="replace").count("\n")
            print(f"{bad:,} malformed requests of {len(MALFORMED)} bytes: {grown:,} bytes logged")
            print(f"server log: {lines} lines in all")
        finally:
            proc.terminate()
            await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=2000)
    parser.add_argument("--malformed", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.big, args.malformed))


if __name__ == "__main__":
    main()
