"""Check that the floor sends the request the SDK sends, for every operation in operations.py.

``python bench/floor_check.py`` serves each operation's fixed answer from a
local aiohttp server, makes two calls with the floor (client_cases.raw) and
two with the SDK's function, and prints a JSON list of differences (empty
when the requests match): method, path, header names, header values other
than the key and User-Agent, the JSON body, and whether each call carries its
own Idempotency-Key. A floor that sends less than the SDK would flatter the
SDK's ratio; one that sends more would hide its overhead.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from client_cases import raw, sdk_func
from operations import OPERATIONS, BenchOperation, answer_for

KEY = "idempotency-key"
PER_CLIENT = {KEY, "user-agent"}  # expected to differ: per call, and per client


Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers (lower-case), body


async def capture(op: BenchOperation) -> tuple[list[Request], list[Request]]:
    """Two requests of the floor and two of the SDK, as a server receives them."""
    seen: list[Request] = []

    async def record(request: web.Request) -> web.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        seen.append((request.method, request.path, headers, await request.read()))
        return web.Response(body=answer_for(op, len(seen)), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        for case in (raw, sdk_func):
            async with case(url, op, False) as call:
                await call()
                await call()
    finally:
        await runner.cleanup()
    return seen[:2], seen[2:]


async def differences() -> list[str]:
    found: list[str] = []
    for op in OPERATIONS.values():
        floor, sdk = await capture(op)
        found += [f"{op.name}: {difference}" for difference in compare(op, floor, sdk)]
    return found


def compare(op: BenchOperation, floor: list[Request], sdk: list[Request]) -> list[str]:
    (f_method, f_path, f_headers, f_body), (s_method, s_path, s_headers, s_body) = floor[0], sdk[0]
    found = []
    if (f_method, f_path) != (s_method, s_path):
        found.append(f"floor sends {f_method} {f_path}, the SDK {s_method} {s_path}")
    if set(f_headers) != set(s_headers):
        only_floor, only_sdk = set(f_headers) - set(s_headers), set(s_headers) - set(f_headers)
        found.append(
            f"headers only the floor sends: {sorted(only_floor)}; only the SDK: {sorted(only_sdk)}"
        )
    for name in (set(f_headers) & set(s_headers)) - PER_CLIENT:
        if f_headers[name] != s_headers[name]:
            found.append(f"header {name}: floor {f_headers[name]!r}, SDK {s_headers[name]!r}")
    if json.loads(f_body) != json.loads(s_body):
        found.append(f"bodies differ: floor {f_body!r}, SDK {s_body!r}")
    for label, requests in (("floor", floor), ("SDK", sdk)):
        keys = [headers.get(KEY) for _, _, headers, _ in requests]
        if op.writes and (None in keys or keys[0] == keys[1]):
            found.append(f"the {label} does not send a fresh Idempotency-Key per call: {keys}")
        if not op.writes and any(keys):
            found.append(f"the {label} sends an Idempotency-Key on a read")
    return found


if __name__ == "__main__":
    print(json.dumps(asyncio.run(differences())))
