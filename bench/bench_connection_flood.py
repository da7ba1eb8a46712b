"""A connection flood against ``autumn-local serve`` with a 1,024 open-file limit.

Hostile clients hold 2,000 idle connections and 1,000 slowloris ones (a head
byte every second), and with ``--slow-bodies N`` N connections that send a
whole head promising a body and then one body byte a second; they reconnect
whenever the server closes one, for the whole run; meanwhile a well-behaved
client opens a new connection every 100 ms and makes one call. Reports the
good client's latencies and failures, how many connections the server held at
most, how it closed the others, and how much it logged.

    python bench/bench_connection_flood.py [--seconds 35] [--slow-bodies 0] [-- extra serve flags]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAD = (
    b"POST /v1/customers.get HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Authorization: Bearer am_sk_test_local\r\nContent-Type: application/json\r\n"
)
PRELUDE = (
    "import resource, sys\n"
    "_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))\n"
    "from autumn_local.run.cli import main\n"
    "sys.exit(main(sys.argv[1:]))"
)


class Hostile:
    def __init__(self, port: int, until: float) -> None:
        self.port = port
        self.until = until
        self.reconnects = 0

    async def hold(self, drip: bool, body: bool = False) -> None:
        """One hostile client: connect, idle or drip (the head, or with ``body`` a body
        after a whole head), reconnect when closed."""
        while time.monotonic() < self.until:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            try:
                i = 0
                if body:
                    writer.write(HEAD + b"Content-Length: 100000\r\n\r\n")
                while time.monotonic() < self.until:
                    if body:
                        writer.write(b" ")
                    elif drip:
                        writer.write(HEAD[i % len(HEAD) : i % len(HEAD) + 1])
                        i += 1
                    with contextlib.suppress(asyncio.TimeoutError):
                        if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                            break
            except OSError:
                pass
            finally:
                writer.transport.abort()
            self.reconnects += 1


GOOD_CLIENT = """
import asyncio, json, sys, time
import aiohttp

async def main(url, seconds):
    latencies, failures = [], []
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True),
        timeout=aiohttp.ClientTimeout(total=10),
        headers={"Authorization": "Bearer am_sk_test_local"},
    ) as http:
        while time.monotonic() < until:
            start = time.monotonic()
            try:
                async with http.post(
                    url + "/v1/customers.get", json={"customer_id": "cus_123"}
                ) as resp:
                    await resp.read()
                    if resp.status == 200:
                        latencies.append((time.monotonic() - start) * 1000)
                    else:
                        failures.append(str(resp.status))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:80])
            await asyncio.sleep(0.1)
    print(json.dumps([latencies, failures]))

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def good_client(url: str, seconds: float) -> tuple[list[float], list[str]]:
    """The well-behaved client, in a process of its own: the flood cannot slow it down."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", GOOD_CLIENT, url, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    latencies, failures = json.loads(out)
    return latencies, failures


async def run(seconds: float, idle: int, slow: int, bodies: int, extra: list[str]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "stderr.txt"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                PRELUDE,
                "serve",
                "--port",
                "0",
                *extra,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        assert proc.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            banner += (await proc.stdout.readline()).decode()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)  # type: ignore[union-attr]
        port = int(url.rsplit(":", 1)[1])
        capped = re.search(r"connections: (.*?);", banner)
        cap = capped.group(1) if capped else "no connection cap"

        until = time.monotonic() + seconds
        hostile = Hostile(port, until)
        tasks = [asyncio.create_task(hostile.hold(drip=False)) for _ in range(idle)]
        tasks += [asyncio.create_task(hostile.hold(drip=True)) for _ in range(slow)]
        tasks += [asyncio.create_task(hostile.hold(drip=True, body=True)) for _ in range(bodies)]
        await asyncio.sleep(2)  # the flood reaches the cap first
        latencies, failures = await good_client(url, until - time.monotonic())
        await asyncio.gather(*tasks)

        proc.send_signal(signal.SIGTERM)
        stopped = (await proc.stdout.read()).decode()
        await proc.wait()
        log_bytes = log_path.stat().st_size
        log_lines = log_path.read_text(errors="replace").splitlines()

    print(
        f"flood: {idle:,} idle + {slow:,} slowloris + {bodies:,} slow-body clients "
        f"for {seconds:g} s, "
        f"server open-file limit 1,024 ({cap})"
    )
    print(f"hostile reconnects after a close: {hostile.reconnects:,}")
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"good client: {len(latencies)} answered, {len(failures)} failed "
            f"{sorted(set(failures))}; latency ms p50 {statistics.median(ordered):.1f}, "
            f"p99 {p99:.1f}, max {ordered[-1]:.1f}"
        )
    else:
        print(f"good client: nothing answered; failures {sorted(set(failures))}")
    print("server:", (stopped.strip().splitlines() or ["(nothing)"])[-1])
    print(f"server log: {log_bytes:,} bytes, {len(log_lines)} lines")
    for line in log_lines[:6]:
        print("  |", line[:160])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=35)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=1000)
    parser.add_argument("--slow-bodies", type=int, default=0)
    parser.add_argument("extra", nargs="*", help="extra serve flags, after --")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.idle, args.slow, args.slow_bodies, args.extra))


if __name__ == "__main__":
    main()
