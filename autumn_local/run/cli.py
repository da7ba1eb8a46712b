"""Command line: ``autumn-local serve`` and ``autumn-local demo``.

Also ``python -m autumn_local ...``, the same program.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shlex
import signal
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from autumn_local.http.auth import DEFAULT_SECRET_KEY
from autumn_local.http.connection_limits import ConnectionLimits
from autumn_local.http.faults import FaultSpec
from autumn_local.run.config import ConfigError
from autumn_local.run.server import LocalAutumn

__all__ = ["main"]

_CONFIG_FORMAT = """\
--config takes a JSON or TOML file (TOML on Python 3.10 needs 'tomli'). Every
key is optional. Features, customers and entities are added on every start if
missing; balances only when the database is new (with --db, its first start).

  # autumn-local.toml
  seed_defaults = true                # false: start without api_calls, seats,
                                      # premium and cus_123
  secret_keys = ["am_sk_test_other"]  # accepted besides --secret-key
  batch_apply_delay = 0               # seconds; as --batch-apply-delay

  [[features]]
  id = "credits"
  type = "metered"                    # boolean | metered | credit_system | ai_credit_system
  name = "Credits"
  consumable = true

  [[customers]]
  id = "cus_456"
  name = "Ada"
  email = "ada@example.com"

  [[entities]]
  id = "seat_1"
  customer_id = "cus_456"
  name = "Seat one"

  [[balances]]                        # the body of POST /v1/balances.create
  customer_id = "cus_456"
  feature_id = "credits"
  included_grant = 500
  reset = { interval = "month" }

  [[models]]                          # token prices for track_tokens, $ per million,
  id = "openai/gpt-4o"                # over the built-in table (autumn_local.rules.model_prices)
  input = 2.5
  output = 10

The same as JSON: {"features": [{"id": "credits", "type": "metered"}], ...}
"""


def _version() -> str:
    try:
        return metadata.version("autumn-balances")
    except metadata.PackageNotFoundError:  # a checkout that was never installed
        return "unknown (not installed)"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def _delay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 0 to 86400 seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _db_path(text: str) -> Path:
    # A typo in the folder would otherwise become a new folder and an empty database,
    # with the data the user meant to keep elsewhere: refuse, and say what to do.
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory: name the database file in it")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"the directory {path.parent} does not exist: create it first (mkdir -p "
            f"{path.parent}), or leave out --db for an in-memory database"
        )
    return path


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's example as written; each option's help states its default."""


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A local Autumn-compatible Balances API server, for demos and tests.",
    )
    version = f"{prog} {_version()}"
    parser.add_argument("--version", action="version", version=version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,demo}")

    serve = sub.add_parser(
        "serve",
        help="run the server until interrupted",
        description="Run the server until Ctrl-C / SIGTERM. It prints the URL and the "
        "key to use, as export lines.",
        formatter_class=_HelpFormatter,
        epilog=_CONFIG_FORMAT,
    )
    serve.add_argument("--version", action="version", version=version)
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8080, help="TCP port, 0 picks a free one (default: %(default)s)"
    )
    where = serve.add_mutually_exclusive_group()
    where.add_argument(
        "--db",
        type=_db_path,
        default=None,
        metavar="PATH",
        help="keep the data in this SQLite file across restarts; its directory must "
        "exist (default: in memory, fresh on every start)",
    )
    where.add_argument(
        "--memory", action="store_true", help="in-memory database, lost on exit (the default)"
    )
    serve.add_argument(
        "--secret-key",
        default=DEFAULT_SECRET_KEY,
        help="the key clients send as Bearer token (default: %(default)s)",
    )
    serve.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="JSON or TOML file of features, customers, entities and balances to seed "
        "(format below; default: none, only api_calls, seats, premium and cus_123)",
    )
    serve.add_argument(
        "--faults",
        default="",
        help='inject faults, e.g. "429=0.05,503=0.05,500=0.02,reset=0.02,delay=0.1,'
        'lost-response=0.02,delay-ms=200,retry-after=1,seed=7,scope=balances" '
        "(default: none)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="refuse unknown body fields (default: ignore them, as Autumn does)",
    )
    serve.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="do not apply Autumn's rate limits, e.g. 25 balances.create per second "
        "(default: applied)",
    )
    serve.add_argument(
        "--batch-apply-delay",
        type=_delay,
        default=None,
        metavar="S",
        help="apply each balances.batch_track S seconds after answering it, as Autumn's "
        "queue worker applies it later (default: the config's batch_apply_delay, else 0: "
        "applied before the answer)",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request (default: off)")
    serve.add_argument(
        "--no-page",
        dest="page",
        action="store_false",
        help="do not serve the page (customers, balances, requests, faults, clock) at / "
        "(default: served)",
    )
    limits = ConnectionLimits()
    serve.add_argument(
        "--header-timeout",
        type=_seconds,
        default=limits.header_timeout,
        metavar="S",
        help="close a connection whose request line and headers take longer than S "
        "seconds (default: %(default)g)",
    )
    serve.add_argument(
        "--body-timeout",
        type=_seconds,
        default=limits.body_timeout,
        metavar="S",
        help="close a connection whose request body takes longer than S seconds "
        "(default: %(default)g)",
    )
    serve.add_argument(
        "--keepalive-timeout",
        type=_seconds,
        default=limits.keepalive_timeout,
        metavar="S",
        help="close a connection idle for S seconds, new or after an answer (default: %(default)g)",
    )
    serve.add_argument(
        "--max-connections",
        type=_positive_int,
        default=limits.max_connections,
        metavar="N",
        help="connections open at once, lowered to fit the open-file limit; at the cap the "
        "longest-waiting idle or slow one is closed to admit a new one (default: %(default)s)",
    )

    sub.add_parser(
        "demo",
        help="start a server in-process and walk through the SDK",
        description="Start a server in-process and walk through the SDK against it.",
    )
    return parser


def _banner(server: LocalAutumn, args: argparse.Namespace) -> str:
    if args.db is None:
        database = "in memory, fresh on every start (--db PATH keeps the data)"
    else:
        database = f"{args.db} (kept across restarts)"
    stats = server.connection_stats
    cap = f"at most {stats['max_connections']} connections"
    if stats["max_connections"] < args.max_connections:
        cap += " (lowered to fit the open-file limit)"
    lines = [
        f"autumn-local serving at {server.url}",
        f"  database:    {database}",
        f"  connections: {cap}; idle {args.keepalive_timeout:g} s, request head "
        f"{args.header_timeout:g} s, body {args.body_timeout:g} s",
    ]
    if server.page:
        lines.append(f"  page:        {server.url}/ (customers, balances, requests, faults)")
    if not args.rate_limits:
        lines.append("  rate limits: off")
    if server.batches.delay_s:
        lines.append(f"  batch_track: applied {server.batches.delay_s:g} s after the answer")
    if server.faults.spec.rates:
        lines.append(f"  faults:      {server.faults.spec}")
    lines += [
        "Point the SDK (or any client) at it:",
        f"  export AUTUMN_SERVER_URL={shlex.quote(server.url)}",
        f"  export AUTUMN_SECRET_KEY={shlex.quote(server.secret_key)}",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


async def _serve(args: argparse.Namespace) -> int:
    server = LocalAutumn(
        host=args.host,
        port=args.port,
        db_path=args.db,
        secret_key=args.secret_key,
        config=args.config,
        faults=FaultSpec.parse(args.faults),
        strict=args.strict,
        rate_limits=args.rate_limits,
        access_log=args.access_log,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        keepalive_timeout=args.keepalive_timeout,
        max_connections=args.max_connections,
        batch_apply_delay=args.batch_apply_delay,
        page=args.page,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows' default loop; Ctrl-C still raises there.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        server._handle_loop_errors()
        print(_banner(server, args), flush=True)
        await stop.wait()
    finally:
        stats = server.connection_stats
        await server.stop()
        faults = {k: v for k, v in server.fault_counts.items() if v} or "none"
        closed = {
            k: v for k, v in stats.items() if v and k.startswith(("closed", "refused", "accept"))
        }
        print(
            f"autumn-local stopped; faults injected: {faults}; connections: at most "
            f"{stats['peak']} open at once, closes {closed or 'none'}",
            flush=True,
        )
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = "autumn-local") -> int:
    args = _parser(prog).parse_args(argv)
    if args.command == "demo":
        from autumn_local.run.demo import run_demo

        return asyncio.run(run_demo())
    logging.basicConfig(
        level=logging.INFO if args.access_log else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(_serve(args))
    except (ConfigError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
