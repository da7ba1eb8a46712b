"""Responsiveness probe: a cheap GET every few milliseconds from its own process.

``python bench/probe.py PORT SECONDS`` sends ``GET /bench-probe`` (any answer
will do, a 404 is expected) over one keep-alive connection with blocking
sockets, so no event loop of its own adds delay, and prints
``[[unix_time, latency_s], ...]`` as JSON.
"""

from __future__ import annotations

import http.client
import json
import sys
import time

INTERVAL = 0.01


def main() -> None:
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started, start = time.time(), time.perf_counter()
        connection.request("GET", "/bench-probe")
        connection.getresponse().read()
        samples.append((started, time.perf_counter() - start))
        time.sleep(INTERVAL)
    print(json.dumps(samples))


if __name__ == "__main__":
    main()
