"""Command line: ``python -m autumn_local serve`` and ``python -m autumn_local demo``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from autumn_local.auth import DEFAULT_SECRET_KEY
from autumn_local.config import ConfigError
from autumn_local.faults import FaultSpec
from autumn_local.server import LocalAutumn

__all__ = ["default_db_path", "main"]


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/autumn-local/autumn.db``, else ``~/.local/share/autumn-local/autumn.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "autumn-local" / "autumn.db"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autumn_local",
        description="A local Autumn-compatible Balances API server.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, help=f"SQLite file (default {default_db_path()})")
    where.add_argument("--memory", action="store_true", help="in-memory database, lost on exit")
    serve.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    serve.add_argument("--config", type=Path, help="JSON or TOML file of features/customers/...")
    serve.add_argument(
        "--faults",
        default="",
        help='e.g. "429=0.05,503=0.05,500=0.02,reset=0.02,delay=0.1,lost-response=0.02,'
        'delay-ms=200,retry-after=1,seed=7,scope=balances"',
    )
    serve.add_argument("--strict", action="store_true", help="refuse unknown body fields")
    serve.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="do not apply Autumn's rate limits (e.g. 25 balances.create per second)",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")

    sub.add_parser("demo", help="start a server in-process and walk through the SDK")
    return parser


async def _serve(args: argparse.Namespace) -> int:
    db_path = None if args.memory else (args.db or default_db_path())
    server = LocalAutumn(
        host=args.host,
        port=args.port,
        db_path=db_path,
        secret_key=args.secret_key,
        config=args.config,
        faults=FaultSpec.parse(args.faults),
        strict=args.strict,
        rate_limits=args.rate_limits,
        access_log=args.access_log,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows' default loop; Ctrl-C still raises there.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        print(f"autumn-local serving at {server.url}", flush=True)
        print(f"  secret key: {server.secret_key}", flush=True)
        print(f"  database:   {db_path or ':memory: (lost on exit)'}", flush=True)
        if not args.rate_limits:
            print("  rate limits: off", flush=True)
        if server.faults.spec.rates:
            print(f"  faults:     {server.faults.spec}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    finally:
        await server.stop()
        print(
            "autumn-local stopped; faults injected: "
            f"{ {k: v for k, v in server.fault_counts.items() if v} or 'none' }",
            flush=True,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from autumn_local.demo import run_demo

        return asyncio.run(run_demo())
    logging.basicConfig(level=logging.INFO if args.access_log else logging.WARNING)
    try:
        return asyncio.run(_serve(args))
    except (ConfigError, ValueError) as exc:
        print(f"autumn-local: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"autumn-local: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
