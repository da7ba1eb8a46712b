"""The recording process of the chaos test: records chunks of events with a spool, and
between chunks waits for the test's word ("more", "close") while its recorder
delivers in the background; the test kills it with SIGKILL at such a moment.

    python -m tests.recorder.chaos_child URL SPOOL CHUNK

Prints `recorded N` (events recorded by this process so far) after each chunk,
and at a clean close `stats {json}`.
"""

from __future__ import annotations

import asyncio
import json
import sys

import attrs

from autumn_core import AutumnCore, BackoffStrategy, RetryConfig
from autumn_funcs import UsageRecorder

FAST = RetryConfig(backoff=BackoffStrategy(initial_interval=5, max_interval=50))
CUSTOMERS = [f"cus_chaos_{n}" for n in range(10)]


async def main(url: str, spool: str, chunk: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    core = AutumnCore("am_sk_test_local", server_url=url, retry_config=FAST)
    recorder = UsageRecorder(
        core, spool=spool, max_batch=500, flush_interval=0.05, requests_per_second=None,
        retry_initial_s=0.01, retry_max_s=0.2, close_timeout=600,
    )  # fmt: skip
    recorded = 0
    while True:
        for n in range(chunk):
            recorder.track({"customer_id": CUSTOMERS[n % 10], "feature_id": "api_calls"})
        recorded += chunk
        print("recorded", recorded, flush=True)
        word = (await reader.readline()).decode().strip()
        if word == "close":
            break
    await recorder.aclose()
    await core.aclose()
    print("stats", json.dumps(attrs.asdict(recorder.stats())), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
