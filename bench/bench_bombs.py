"""Memory under compression bombs: peak RSS of a client whose server answers with a
small gzip or deflate body that decodes to tens or hundreds of megabytes.

A hostile server (its own process, on 127.0.0.1) serves each bomb; for each, a
fresh client process makes one warm-up call to a plain answer, then one call
that meets the bomb, and reports its peak RSS (`ru_maxrss`) before and after
and what the error kept. The SDK decodes within its bounds (64 KiB of an error
body, 1 MiB of a success body), so the growth stays near those bounds whatever
the bomb decodes to.

    python bench/bench_bombs.py            # prints the table
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import zlib

from harness import BENCH, SDK_PYTHON, Section, Target, free_port, run_json, server_process

MiB = 1024 * 1024
# name: (status, encoding, decoded MiB, gzip members)
BOMBS: dict[str, tuple[int, str, int, int]] = {
    "error-gzip": (503, "gzip", 64, 1),
    "error-deflate": (503, "deflate", 64, 1),
    "success-gzip": (200, "gzip", 512, 1),
    "success-deflate": (200, "deflate", 512, 1),
    "success-gzip-members": (200, "gzip", 512, 16),
}


def bomb(encoding: str, decoded_mib: int, members: int) -> bytes:
    """Zeros compressed a megabyte at a time, never held decoded."""
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    block = bytes(MiB)
    parts: list[bytes] = []
    for _ in range(members):
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        parts += [packer.compress(block) for _ in range(decoded_mib // members)]
        parts.append(packer.flush())
    return b"".join(parts)


def serve(port: int) -> None:
    from aiohttp import web

    bodies = {name: bomb(enc, size, members) for name, (_, enc, size, members) in BOMBS.items()}

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.path.split("/")[1]  # /<bomb>/v1/balances.create
        if name not in BOMBS:
            return web.json_response({"success": True})
        status, encoding, _, _ = BOMBS[name]
        return web.Response(
            status=status,
            body=bodies[name],
            headers={"Content-Type": "application/json", "Content-Encoding": encoding},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def client(base: str, name: str) -> None:
    from autumn_core import AutumnCore, RetryConfig
    from autumn_funcs import balances_create

    params = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1}

    async def main() -> dict[str, object]:
        async with AutumnCore(
            "am_sk_test_bench",
            server_url=f"{base}/plain",
            retry_config=RetryConfig(strategy="none"),
        ) as warm:
            assert (await balances_create(warm, params)).ok
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        async with AutumnCore(
            "am_sk_test_bench",
            server_url=f"{base}/{name}",
            retry_config=RetryConfig(strategy="none"),
        ) as core:
            res = await balances_create(core, params)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert not res.ok
        error = res.error
        return {
            "rss_before_kib": before,
            "peak_rss_kib": peak,
            "error": type(error).__name__,
            "kept_bytes": len(getattr(error, "body", "").encode()),
            "truncated": bool(getattr(error, "body_truncated", False)),
        }

    print(json.dumps(asyncio.run(main())))


def run(sdk_error: str | None) -> Section:
    section = Section(
        "Memory under compression bombs (one call each)",
        [
            "answer",
            "on the wire",
            "decoded",
            "error",
            "body kept",
            "peak RSS MiB before",
            "after",
            "growth MiB",
        ],
    )
    if sdk_error is not None:
        section.notes.append(f"skipped: {sdk_error}")
        return section
    port = free_port()
    argv = [SDK_PYTHON, str(BENCH / "bench_bombs.py"), "serve", str(port)]
    growths: list[float] = []
    with server_process(argv, port):
        for name, (status, encoding, size, members) in BOMBS.items():
            wire = len(bomb(encoding, size, members))
            got = run_json(
                [
                    SDK_PYTHON,
                    str(BENCH / "bench_bombs.py"),
                    "client",
                    f"http://127.0.0.1:{port}",
                    name,
                ]
            )
            growth = (got["peak_rss_kib"] - got["rss_before_kib"]) / 1024
            growths.append(growth)
            label = f"{status} {encoding}" + (f", {members} members" if members > 1 else "")
            section.rows.append(
                [
                    label,
                    f"{wire / 1000:,.0f} KB",
                    f"{size} MiB",
                    got["error"],
                    f"{got['kept_bytes']:,} B" + (" (truncated)" if got["truncated"] else ""),
                    f"{got['rss_before_kib'] / 1024:.0f}",
                    f"{got['peak_rss_kib'] / 1024:.0f}",
                    f"{growth:.1f}",
                ]
            )
    section.notes.append(
        "Each row: a fresh client process; RSS = `ru_maxrss` after imports and one plain "
        "call (before) and after the call that met the bomb. The SDK asks zlib for no more "
        "than its bound (64 KiB of an error body, 1 MiB of a success body) plus a byte."
    )
    section.targets.append(
        Target(
            "client growth under any bomb (64 to 512 MiB decoded)",
            f"{max(growths):.1f} MiB",
            "≤ 16 MiB",
            max(growths) <= 16,
        )
    )
    return section


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3])
    else:
        section = run(None)
        print(section.render())
        for target in section.targets:
            print(f"{target.name}: {target.measured} ({target.limit}): {target.verdict}")
