"""Clients under test, run in a fresh process so its CPU time and memory are their own.

``python bench/client_cases.py CASE URL throughput --concurrency 64 --seconds 1``
makes one operation's call (``--operation``, default ``create``; see
operations.py) from CONCURRENCY tasks; after a warm-up it measures SECONDS and
prints ``{"calls", "cpu_s", "wall_s", "windows"}`` as JSON (CPU = user+system
of this process; ``windows`` splits the same figures into ``--windows`` even
parts, so a caller can take the median part).

``python bench/client_cases.py raw,sdk_func URL paired --concurrency 64`` runs
several cases in one process, taking turns in short windows (``--rounds``
of ``--window`` seconds each), and prints every case's windows. Side by side,
the cases meet the same state of a shared machine, which a fair ratio needs.

``python bench/client_cases.py CASE URL inflight --calls 10000`` starts CALLS
calls at once against a server that delays its answer and prints the peak RSS.

Cases: ``raw`` (the floor: plain aiohttp), ``sdk_func`` (standalone function),
``sdk_otel`` (the same on a core instrumented by ``autumn_core.otel``),
``sdk_facade`` (the raising ``Autumn`` class) and ``peer`` (autumn-sdk; run it
with the peer virtual environment's Python). Each case imports only its own
client, so the peer environment never needs aiohttp or this SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import operator
import os
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from operations import OPERATIONS, BenchOperation

SECRET_KEY = "am_sk_test_bench"
TIMEOUT_S = 60.0  # the SDK's default per-attempt timeout
RAMP_S = 0.02  # paired windows start measuring this long after their callers start

Call = Callable[[], Awaitable[object]]


def idempotency_key() -> str:
    """A fresh key the way the SDK draws one (autumn_core._call.fresh_key)."""
    return os.urandom(16).hex()


def aiohttp_session(unlimited: bool):  # type: ignore[no-untyped-def]
    """The session both aiohttp-based cases share settings for; ``None`` keeps the SDK default."""
    import aiohttp

    if not unlimited:
        return None
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


def attribute_path(root: object, dotted: str) -> Any:
    return operator.attrgetter(dotted)(root)


@contextlib.asynccontextmanager
async def raw(url: str, op: BenchOperation, unlimited: bool) -> AsyncIterator[Call]:
    """The floor: the cheapest plain-aiohttp code that does the job the SDK does.

    Per call: encode the params (the SDK validates and encodes them per call),
    a fresh Idempotency-Key for a write, one POST on the pooled session with the
    SDK's headers and timeout, a status check, ``json.loads`` of the answer and
    a read of the field the caller needs. Everything else is built once.
    """
    import aiohttp
    import yarl

    # Compact, no cycle check: the same bytes as the SDK sends, at the public
    # encoder's lowest cost. Built once: json.dumps builds a new one per call.
    encode = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
    ).encode
    target = yarl.URL(url + op.path)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    headers = {  # the SDK's header set; only the Idempotency-Key changes per call
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"bench-floor aiohttp/{aiohttp.__version__}",
        "x-api-version": "2.1",
        "Authorization": f"Bearer {SECRET_KEY}",
    }
    params, writes, field = op.params, op.writes, op.answer_field
    async with aiohttp_session(unlimited) or aiohttp.ClientSession() as session:

        async def call() -> object:
            body = encode(params).encode()
            call_headers = {**headers, "Idempotency-Key": idempotency_key()} if writes else headers
            async with session.post(
                target, data=body, headers=call_headers, timeout=timeout, allow_redirects=False
            ) as response:
                data = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"unexpected answer {response.status}: {data!r}")
            # Decoding first skips json's encoding detection, which runs in Python.
            return json.loads(data.decode())[field]

        yield call


@contextlib.asynccontextmanager
async def sdk_func(
    url: str, op: BenchOperation, unlimited: bool, instrumented: bool = False
) -> AsyncIterator[Call]:
    import autumn_funcs
    from autumn_core import AutumnCore

    function = getattr(autumn_funcs, op.sdk_function)
    params, read = op.params, operator.attrgetter(op.answer_field)
    session = aiohttp_session(unlimited)
    async with AutumnCore(secret_key=SECRET_KEY, server_url=url, session=session) as core:
        if instrumented:
            otel_instrument(core)

        async def call() -> object:
            result = await function(core, params)
            if not result.ok:
                raise RuntimeError(f"call failed: {result.error!r}")
            return read(result.value)

        yield call
    if session is not None:
        await session.close()


def otel_instrument(core: Any) -> None:
    """`autumn_core.otel.instrument(core)` with the OpenTelemetry SDK set up as a service
    would: every span sampled and batched to an exporter (here one that discards them,
    so no I/O is measured), metrics aggregated for a reader."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from autumn_core.otel import instrument

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Discard()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    instrument(core, tracer_provider=tracer_provider, meter_provider=meter_provider)


@contextlib.asynccontextmanager
async def sdk_otel(url: str, op: BenchOperation, unlimited: bool) -> AsyncIterator[Call]:
    async with sdk_func(url, op, unlimited, instrumented=True) as call:
        yield call


@contextlib.asynccontextmanager
async def sdk_facade(url: str, op: BenchOperation, unlimited: bool) -> AsyncIterator[Call]:
    from autumn_funcs import Autumn

    if unlimited:
        raise SystemExit("the facade case runs with the SDK's default session only")
    params, read = op.params, operator.attrgetter(op.answer_field)
    async with Autumn(secret_key=SECRET_KEY, server_url=url) as autumn:
        method = attribute_path(autumn, op.facade_method)

        async def call() -> object:
            return read(await method(params))

        yield call


@contextlib.asynccontextmanager
async def peer(url: str, op: BenchOperation, unlimited: bool) -> AsyncIterator[Call]:
    from autumn_sdk import Autumn

    if unlimited:
        raise SystemExit("the peer case runs with its default httpx client only")
    if op.peer_method is None:
        raise SystemExit(f"autumn-sdk has no method for {op.name}")
    params, writes, read = op.params, op.writes, operator.attrgetter(op.answer_field)
    async with Autumn(secret_key=SECRET_KEY, server_url=url, x_api_version="2.1") as autumn:
        method = attribute_path(autumn, op.peer_method)

        # autumn-sdk sends no Idempotency-Key by itself: a write passes one, as the SDK does.
        async def call() -> object:
            extra = {"http_headers": {"Idempotency-Key": idempotency_key()}} if writes else {}
            return read(await method(**params, **extra))

        yield call


CASES = {
    "raw": raw,
    "sdk_func": sdk_func,
    "sdk_otel": sdk_otel,
    "sdk_facade": sdk_facade,
    "peer": peer,
}


class Callers:
    """``concurrency`` tasks that call without pause until stopped, counting finished calls."""

    def __init__(self, call: Call, concurrency: int) -> None:
        self.done = 0
        self.running = True
        self.tasks = [asyncio.ensure_future(self._worker(call)) for _ in range(concurrency)]

    async def _worker(self, call: Call) -> None:
        while self.running:
            await call()
            self.done += 1

    def mark(self) -> tuple[int, float, float]:
        return self.done, time.process_time(), time.perf_counter()

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*self.tasks)


def spans(marks: list[tuple[int, float, float]]) -> list[list[float]]:
    """[calls, cpu_s, wall_s] between successive marks."""
    return [
        [calls1 - calls0, cpu1 - cpu0, wall1 - wall0]
        for (calls0, cpu0, wall0), (calls1, cpu1, wall1) in itertools.pairwise(marks)
    ]


async def throughput(
    call: Call, concurrency: int, seconds: float, warmup: float, windows: int
) -> dict[str, object]:
    """After ``warmup``, read the clocks at ``windows`` even steps over ``seconds`` of calls.
    The callers never pause, so every window sees the full concurrency."""
    callers = Callers(call, concurrency)
    await asyncio.sleep(warmup)
    marks = [callers.mark()]
    for _ in range(windows):
        await asyncio.sleep(seconds / windows)
        marks.append(callers.mark())
    await callers.stop()
    calls, cpu, wall = spans([marks[0], marks[-1]])[0]
    return {"calls": calls, "cpu_s": cpu, "wall_s": wall, "windows": spans(marks)}


async def paired(
    calls: dict[str, Call], concurrency: int, rounds: int, window: float
) -> dict[str, object]:
    """Take turns: each round gives every case one ``window`` of calls (in reverse order every
    other round), so all cases see the same state of the machine within a fraction of a second.
    Only one case calls at a time; the others' sessions sit idle."""
    names = list(calls)
    windows: dict[str, list[list[float]]] = {name: [] for name in names}
    for round_number in range(rounds + 1):  # round 0 warms every case up and is not kept
        for name in names if round_number % 2 else reversed(names):
            callers = Callers(calls[name], concurrency)
            await asyncio.sleep(RAMP_S)  # every caller has a call in flight
            start = callers.mark()
            await asyncio.sleep(window)
            end = callers.mark()
            await callers.stop()
            if round_number:
                windows[name].append(spans([start, end])[0])
    return {"windows": windows}


def current_rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def inflight(call: Call, calls: int) -> dict[str, object]:
    await call()  # warm: lazy imports and the first connection are not per-call costs
    before = current_rss_kib()
    wall0 = time.perf_counter()
    await asyncio.gather(*(call() for _ in range(calls)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rss_before_kib": before, "peak_rss_kib": peak, "wall_s": time.perf_counter() - wall0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", help="a case, or (paired) several separated by commas")
    parser.add_argument("url")
    parser.add_argument("--operation", choices=OPERATIONS, default="create")
    modes = parser.add_subparsers(dest="mode", required=True)
    tp = modes.add_parser("throughput")
    tp.add_argument("--concurrency", type=int, default=1)
    tp.add_argument("--seconds", type=float, default=1.0)
    tp.add_argument("--warmup", type=float, default=0.3)
    tp.add_argument("--windows", type=int, default=1)
    pa = modes.add_parser("paired")
    pa.add_argument("--concurrency", type=int, default=1)
    pa.add_argument("--rounds", type=int, default=10)
    pa.add_argument("--window", type=float, default=0.1)
    fl = modes.add_parser("inflight")
    fl.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    names = args.cases.split(",")
    unknown = [name for name in names if name not in CASES]
    if unknown or (args.mode != "paired" and len(names) != 1):
        parser.error(f"cases: expected one of {', '.join(CASES)} (several only when paired)")

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    op = OPERATIONS[args.operation]
    async with contextlib.AsyncExitStack() as stack:
        calls = {
            name: await stack.enter_async_context(
                CASES[name](args.url, op, args.mode == "inflight")
            )
            for name in names
        }
        if args.mode == "paired":
            result = await paired(calls, args.concurrency, args.rounds, args.window)
        elif args.mode == "throughput":
            result = await throughput(
                calls[names[0]], args.concurrency, args.seconds, args.warmup, args.windows
            )
        else:
            result = await inflight(calls[names[0]], args.calls)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
