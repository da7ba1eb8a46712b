"""SQLite persistence: one connection, tiny synchronous transactions.

Threading choice: every transaction runs synchronously on the event loop's
thread. A transaction here is a handful of primary-key lookups plus one
write; in WAL mode with ``synchronous=NORMAL`` a commit does not fsync (only
checkpoints do), so each one takes tens of microseconds -- less than handing
the work to a writer thread and back would cost. Running on the loop also
serialises writers for free: two requests can never interleave inside a
transaction because there is no ``await`` inside one, which is what makes
1,000 concurrent ``add_to_balance`` calls land exactly and makes the
idempotency claim-then-apply atomic.

Measured on a file database (20,000 add_to_balance transactions, each with an
idempotency claim): p50 26 us, p99 94 us, p99.9 4 ms, worst 8 ms -- the
outliers are SQLite's automatic WAL checkpoints (an fsync every ~1,000
pages). Moving checkpoints to a background thread was tried and rejected:
passive checkpoints could not keep up under constant writes, the WAL grew
without bound, and the worst case got worse.

``sqlite3`` caches prepared statements per connection (``cached_statements``),
so the fixed SQL below is parsed once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autumn_local.resets import RESETTING_INTERVALS, first_boundary_after

__all__ = ["BalanceRow", "CustomerRow", "EntityRow", "FeatureRow", "Store"]

Number = int | float

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS features (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    consumable INTEGER NOT NULL,
    event_names TEXT NOT NULL DEFAULT '[]',
    archived INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT,
    email TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    id TEXT NOT NULL,
    name TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, id)
);
-- entity_id is '' for a customer-level balance so it can sit in an index.
CREATE TABLE IF NOT EXISTS balances (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    entity_id TEXT NOT NULL DEFAULT '',
    feature_id TEXT NOT NULL REFERENCES features(id),
    granted NUMERIC NOT NULL,
    usage NUMERIC NOT NULL,
    unlimited INTEGER NOT NULL,
    interval TEXT,
    interval_count INTEGER NOT NULL DEFAULT 1,
    anchor_ms INTEGER,
    next_reset_at INTEGER,
    expires_at INTEGER,
    rollover TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (customer_id, id)
);
-- Picking the balance to update filters by owner, feature and interval. The
-- interval column extends the first index this table had (owner and feature
-- only), which is dropped so an insert maintains one index, not two.
-- Lookups by balance_id use the UNIQUE (customer_id, id) index.
CREATE INDEX IF NOT EXISTS balances_by_owner_interval
    ON balances (customer_id, feature_id, entity_id, interval);
DROP INDEX IF EXISTS balances_by_owner;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
"""

_BALANCE_COLUMNS = (
    "pk, id, customer_id, entity_id, feature_id, granted, usage, unlimited, interval, "
    "interval_count, anchor_ms, next_reset_at, expires_at, rollover, created_at"
)


@dataclass(frozen=True, slots=True)
class FeatureRow:
    id: str
    name: str
    type: str
    consumable: bool
    event_names: tuple[str, ...]
    archived: bool


@dataclass(frozen=True, slots=True)
class CustomerRow:
    id: str
    name: str | None
    email: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class EntityRow:
    customer_id: str
    id: str
    name: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class BalanceRow:
    pk: int
    id: str
    customer_id: str
    entity_id: str
    feature_id: str
    granted: Number
    usage: Number
    unlimited: bool
    interval: str | None
    interval_count: int
    anchor_ms: int | None
    next_reset_at: int | None
    expires_at: int | None
    rollover: str | None
    created_at: int

    @property
    def remaining(self) -> Number:
        return self.granted - self.usage

    def expired(self, now_ms: int) -> bool:
        return self.expires_at is not None and now_ms >= self.expires_at

    def at(self, now_ms: int) -> BalanceRow:
        """This balance as it stands at ``now_ms``: resets past due are applied.

        Resets are lazy: nothing runs at the boundary; whoever reads the
        balance next sees it reset. Pure, so reads never write.
        """
        if (
            self.next_reset_at is None
            or now_ms < self.next_reset_at
            or self.interval not in RESETTING_INTERVALS
            or self.anchor_ms is None
        ):
            return self
        try:
            following = first_boundary_after(
                self.anchor_ms, self.interval, self.interval_count, now_ms
            )
        except (OverflowError, ValueError):
            following = None  # beyond the calendar; no more resets
        return replace(self, usage=0, next_reset_at=following)


def _balance(row: tuple[Any, ...]) -> BalanceRow:
    return BalanceRow(
        pk=row[0],
        id=row[1],
        customer_id=row[2],
        entity_id=row[3],
        feature_id=row[4],
        granted=row[5],
        usage=row[6],
        unlimited=bool(row[7]),
        interval=row[8],
        interval_count=row[9],
        anchor_ms=row[10],
        next_reset_at=row[11],
        expires_at=row[12],
        rollover=row[13],
        created_at=row[14],
    )


_OWNER_LIVE = (
    "customer_id = ? AND feature_id = ? AND entity_id = ?"
    " AND (expires_at IS NULL OR expires_at > ?)"
)


def _live_select(
    columns: str,
    customer_id: str,
    feature_id: str,
    entity_id: str,
    now_ms: int,
    interval: str | None,
) -> tuple[str, tuple[str | int, ...]]:
    """SELECT and arguments for unexpired balances (``BalanceRow.expired`` in SQL).

    Each branch is an equality seek on ``balances_by_owner_interval``. A
    balance without an interval counts as ``one_off``: that is two seeks
    (``IS NULL`` and ``= 'one_off'``) joined by UNION ALL, because SQLite
    answers ``(interval IS NULL OR interval = 'one_off')`` by scanning every
    balance of the owner.
    """
    owner: tuple[str | int, ...] = (customer_id, feature_id, entity_id, now_ms)
    head = f"SELECT {columns} FROM balances WHERE {_OWNER_LIVE}"  # noqa: S608 - constant SQL
    if interval is None:
        return head, owner
    if interval == "one_off":
        return (
            f"{head} AND interval IS NULL UNION ALL {head} AND interval = 'one_off'",
            owner * 2,
        )
    return f"{head} AND interval = ?", (*owner, interval)


class Store:
    """All reads and writes of the local server's state.

    Methods that write must run inside ``with store.transaction():``.
    """

    def __init__(self, path: str | Path | None) -> None:
        """Open ``path`` (created if missing), or a private in-memory database if None."""
        target = ":memory:" if path is None else str(path)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a
        # transaction is exactly the span of ``transaction()``.
        self._db = sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        self.path = None if path is None else Path(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        self.created = row is None
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")
        self._features: dict[str, FeatureRow] = {}
        self._load_features()
        self._claims_since_sweep = 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._load_features()
            raise
        else:
            self._db.execute("COMMIT")

    # -- features (cached: read on every balance call, written rarely) --

    def _load_features(self) -> None:
        rows = self._db.execute(
            "SELECT id, name, type, consumable, event_names, archived FROM features ORDER BY rowid"
        ).fetchall()
        self._features = {
            r[0]: FeatureRow(
                id=r[0],
                name=r[1],
                type=r[2],
                consumable=bool(r[3]),
                event_names=tuple(json.loads(r[4])),
                archived=bool(r[5]),
            )
            for r in rows
        }

    def feature(self, feature_id: str) -> FeatureRow | None:
        return self._features.get(feature_id)

    def features(self) -> list[FeatureRow]:
        return list(self._features.values())

    def insert_feature(self, feature: FeatureRow, now_ms: int) -> None:
        self._db.execute(
            "INSERT INTO features (id, name, type, consumable, event_names, archived, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                feature.id,
                feature.name,
                feature.type,
                int(feature.consumable),
                json.dumps(list(feature.event_names)),
                int(feature.archived),
                now_ms,
            ),
        )
        self._features[feature.id] = feature

    # -- customers and entities --

    def customer(self, customer_id: str) -> CustomerRow | None:
        r = self._db.execute(
            "SELECT id, name, email, created_at FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return None if r is None else CustomerRow(id=r[0], name=r[1], email=r[2], created_at=r[3])

    def customer_exists(self, customer_id: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone()
            is not None
        )

    def insert_customer(self, customer: CustomerRow) -> None:
        self._db.execute(
            "INSERT INTO customers (id, name, email, created_at) VALUES (?, ?, ?, ?)",
            (customer.id, customer.name, customer.email, customer.created_at),
        )

    def entity(self, customer_id: str, entity_id: str) -> EntityRow | None:
        r = self._db.execute(
            "SELECT customer_id, id, name, created_at FROM entities"
            " WHERE customer_id = ? AND id = ?",
            (customer_id, entity_id),
        ).fetchone()
        if r is None:
            return None
        return EntityRow(customer_id=r[0], id=r[1], name=r[2], created_at=r[3])

    def insert_entity(self, entity: EntityRow) -> None:
        self._db.execute(
            "INSERT INTO entities (customer_id, id, name, created_at) VALUES (?, ?, ?, ?)",
            (entity.customer_id, entity.id, entity.name, entity.created_at),
        )

    # -- balances --

    def _balances(self, where: str, args: tuple[Any, ...]) -> list[BalanceRow]:
        """Balances matching a constant SQL condition (`where` never holds input)."""
        sql = f"SELECT {_BALANCE_COLUMNS} FROM balances WHERE {where}"  # noqa: S608
        return [_balance(r) for r in self._db.execute(sql, args).fetchall()]

    def balances_for(self, customer_id: str, feature_id: str, entity_id: str) -> list[BalanceRow]:
        return self._balances(
            "customer_id = ? AND feature_id = ? AND entity_id = ? ORDER BY pk",
            (customer_id, feature_id, entity_id),
        )

    def balance_by_id(self, customer_id: str, balance_id: str) -> BalanceRow | None:
        found = self._balances("customer_id = ? AND id = ?", (customer_id, balance_id))
        return found[0] if found else None

    def live_balances(
        self,
        customer_id: str,
        feature_id: str,
        entity_id: str,
        now_ms: int,
        interval: str | None = None,
        limit: int = -1,
    ) -> list[BalanceRow]:
        """Unexpired balances of one owner and feature, in no set order, at most ``limit``.

        With ``interval``, only balances with that reset interval; a balance
        without one counts as ``one_off``.
        """
        sql, args = _live_select(
            _BALANCE_COLUMNS, customer_id, feature_id, entity_id, now_ms, interval
        )
        rows = self._db.execute(sql + " LIMIT ?", (*args, limit)).fetchall()
        return [_balance(r) for r in rows]

    def count_live_balances(
        self,
        customer_id: str,
        feature_id: str,
        entity_id: str,
        now_ms: int,
        interval: str | None = None,
    ) -> int:
        """How many balances ``live_balances`` would return without a limit."""
        sql, args = _live_select("1", customer_id, feature_id, entity_id, now_ms, interval)
        r = self._db.execute(
            f"SELECT count(*) FROM ({sql})",  # noqa: S608 - constant SQL
            args,
        ).fetchone()
        return int(r[0])

    def balances_of(self, customer_id: str, entity_id: str) -> list[BalanceRow]:
        return self._balances(
            "customer_id = ? AND entity_id = ? ORDER BY feature_id, pk", (customer_id, entity_id)
        )

    def balance_id_taken(self, customer_id: str, balance_id: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM balances WHERE customer_id = ? AND id = ?",
                (customer_id, balance_id),
            ).fetchone()
            is not None
        )

    def insert_balance(self, b: BalanceRow) -> None:
        self._db.execute(
            "INSERT INTO balances (id, customer_id, entity_id, feature_id, granted, usage,"
            " unlimited, interval, interval_count, anchor_ms, next_reset_at, expires_at,"
            " rollover, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                b.id,
                b.customer_id,
                b.entity_id,
                b.feature_id,
                b.granted,
                b.usage,
                int(b.unlimited),
                b.interval,
                b.interval_count,
                b.anchor_ms,
                b.next_reset_at,
                b.expires_at,
                b.rollover,
                b.created_at,
            ),
        )

    def save_balance(self, b: BalanceRow) -> None:
        """Write back the mutable state of an existing balance."""
        self._db.execute(
            "UPDATE balances SET granted = ?, usage = ?, anchor_ms = ?, next_reset_at = ?,"
            " expires_at = ? WHERE pk = ?",
            (b.granted, b.usage, b.anchor_ms, b.next_reset_at, b.expires_at, b.pk),
        )

    # -- idempotency keys --

    def idempotency_claimed_since(self, scope: str, key: str, since_ms: int) -> bool:
        """Whether ``key`` was claimed at or after ``since_ms``."""
        r = self._db.execute(
            "SELECT created_at FROM idempotency_keys WHERE scope = ? AND key = ?", (scope, key)
        ).fetchone()
        return r is not None and r[0] >= since_ms

    def claim_idempotency_key(self, scope: str, key: str, now_ms: int, window_ms: int) -> None:
        # REPLACE: a key older than its window may be claimed afresh.
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency_keys (scope, key, created_at) VALUES (?, ?, ?)",
            (scope, key, now_ms),
        )
        self._claims_since_sweep += 1
        if self._claims_since_sweep >= 1000:
            self._claims_since_sweep = 0
            self._db.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (now_ms - window_ms,)
            )
