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

Rows map to dataclasses by column name: every SELECT of a row type is built
by ``_select`` from that dataclass's own field names, in field order, so the
row factory can hand the values straight to the constructor. Adding a column
is one field, not a position to keep in step in three places.

A balance keeps Autumn's three numbers: ``allowance`` (the grant it was
created with, what a reset returns to), ``adjustment`` (what ``included_grant``
changed since the last reset) and ``balance`` (what remains, possibly
negative). The grant is allowance + adjustment; usage is grant - balance.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from autumn_local.store.ids import new_balance_id, new_rollover_id
from autumn_local.store.js_numbers import MAX_SAFE_INTEGER, as_double

__all__ = [
    "AmountOutOfRange",
    "Balance",
    "CreditCost",
    "CustomerRow",
    "EntityRow",
    "FeatureRow",
    "LockRow",
    "Number",
    "Rollover",
    "RolloverConfig",
    "Store",
]

Number = int | float

# Statements are split on ";": keep that character out of the comments.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    consumable INTEGER NOT NULL,
    event_names TEXT NOT NULL DEFAULT '[]',
    archived INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    credit_schema TEXT NOT NULL DEFAULT '[]'
);
-- has_id is 0 for a customer created without an id: id is then a key of
-- ours that is never shown, and the customer is found by its email.
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT,
    email TEXT,
    created_at INTEGER NOT NULL,
    fingerprint TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    send_email_receipts INTEGER NOT NULL DEFAULT 0,
    has_id INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS entities (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    id TEXT NOT NULL,
    name TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, id)
);
-- entity_id is '' for a customer-level balance so it can sit in an index.
-- id is Autumn's own (cus_ent_...), balance_id the caller's if one was given.
CREATE TABLE IF NOT EXISTS balances (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    balance_id TEXT,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    entity_id TEXT NOT NULL DEFAULT '',
    feature_id TEXT NOT NULL REFERENCES features(id),
    allowance NUMERIC NOT NULL,
    adjustment NUMERIC NOT NULL,
    balance NUMERIC NOT NULL,
    unlimited INTEGER NOT NULL,
    interval TEXT NOT NULL,
    interval_count INTEGER NOT NULL,
    next_reset_at INTEGER,
    expires_at INTEGER,
    rollover TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS balances_by_owner ON balances (customer_id, feature_id, entity_id);
CREATE UNIQUE INDEX IF NOT EXISTS balances_by_balance_id ON balances (customer_id, balance_id);
CREATE TABLE IF NOT EXISTS rollovers (
    pk INTEGER PRIMARY KEY,
    balance_pk INTEGER NOT NULL REFERENCES balances(pk),
    balance NUMERIC NOT NULL,
    usage NUMERIC NOT NULL,
    expires_at INTEGER,
    id TEXT
);
CREATE INDEX IF NOT EXISTS rollovers_by_balance ON rollovers (balance_pk);
-- name 'seeded': the seed is applied, written in the seed's own transaction.
CREATE TABLE IF NOT EXISTS server_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
-- The sweep of expired claims reads by age: without this index it scans every
-- claim, which batches of keyed events make millions.
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at);
-- Lock receipts of check / track with lock (see locks.py), by env and lock_id.
CREATE TABLE IF NOT EXISTS lock_receipts (
    env TEXT NOT NULL,
    lock_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    receipt TEXT NOT NULL,
    release_at INTEGER,
    gone_at INTEGER NOT NULL,
    PRIMARY KEY (env, lock_id)
);
CREATE INDEX IF NOT EXISTS lock_receipts_by_customer ON lock_receipts (customer_id);
"""

# Columns added after a layout was released: (table, column, definition).
_ADDED_COLUMNS = (
    ("features", "credit_schema", "TEXT NOT NULL DEFAULT '[]'"),
    ("rollovers", "id", "TEXT"),
    ("customers", "fingerprint", "TEXT"),
    ("customers", "metadata", "TEXT NOT NULL DEFAULT '{}'"),
    ("customers", "send_email_receipts", "INTEGER NOT NULL DEFAULT 0"),
    ("customers", "has_id", "INTEGER NOT NULL DEFAULT 1"),
    # An AI credit system's markups: {default_markup, provider_markups, model_markups}.
    ("features", "ai_markups", "TEXT"),
)


@dataclass(frozen=True, slots=True)
class CreditCost:
    """One line of a credit system's schema: credits per unit of a metered feature."""

    metered_feature_id: str
    credit_cost: Number


@dataclass(frozen=True, slots=True)
class FeatureRow:
    id: str
    name: str
    type: str
    consumable: bool
    event_names: tuple[str, ...]
    archived: bool
    # Only a credit_system feature has one.
    credit_schema: tuple[CreditCost, ...] = ()
    # Only an ai_credit_system feature has them (see ai_credits.py).
    ai_markups: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer. ``id`` is the caller's when ``has_id``, else a key nobody sees."""

    id: str
    name: str | None
    email: str | None
    created_at: int
    fingerprint: str | None
    metadata: str  # a JSON object
    send_email_receipts: bool
    has_id: bool


@dataclass(frozen=True, slots=True)
class EntityRow:
    customer_id: str
    id: str
    name: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class RolloverConfig:
    max: Number | None
    max_percentage: Number | None
    duration: str  # "month" | "forever"
    length: Number


# JavaScript's exact integers end here; Autumn's numbers are doubles beyond it.
_MAX_EXACT = MAX_SAFE_INTEGER + 1
_MIN_EXACT = -_MAX_EXACT


@dataclass(slots=True)
class Rollover:
    """Leftover balance carried past a reset; used before the balance itself."""

    balance: Number
    usage: Number
    expires_at: int | None
    id: str = field(default_factory=new_rollover_id)


@dataclass(slots=True)
class Balance:
    """One balance ("breakdown" / customer entitlement), mutable while an update runs."""

    pk: int
    id: str
    balance_id: str | None
    customer_id: str
    entity_id: str
    feature_id: str
    allowance: Number
    adjustment: Number
    balance: Number
    unlimited: bool
    interval: str
    interval_count: int
    next_reset_at: int | None
    expires_at: int | None
    rollover: str | None
    created_at: int
    # Not columns: loaded from the rollovers table when ``rollover`` is set.
    rollovers: list[Rollover] = field(default_factory=list)
    changed: bool = False

    def __post_init__(self) -> None:
        self.unlimited = bool(self.unlimited)

    @property
    def grant(self) -> Number:
        """What the balance is granted now (Autumn counts no grant for an unlimited one)."""
        return 0 if self.unlimited else self.allowance + self.adjustment

    @property
    def usage(self) -> Number:
        return self.grant - self.balance

    @property
    def api_id(self) -> str:
        """The id the API shows: the caller's ``balance_id`` if set, else Autumn's own."""
        return self.balance_id or self.id

    def rollover_config(self) -> RolloverConfig | None:
        return None if self.rollover is None else RolloverConfig(**json.loads(self.rollover))


@dataclass(frozen=True, slots=True)
class LockRow:
    """A lock receipt: what a check or track with ``lock`` deducted, until finalized."""

    env: str
    lock_id: str
    customer_id: str
    receipt: str  # JSON, see locks.py
    release_at: int | None  # released automatically then (check's lock.expires_at)
    gone_at: int  # forgotten then, the deduction kept


_T = TypeVar("_T")


def _columns(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a row dataclass that are table columns: those without a default."""
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def _as_double(column: str) -> str:
    """``column`` as the double it was stored as: SQLite keeps a whole double below
    2^63 as an integer, whose exact arithmetic would not round as JavaScript's does."""
    return (
        f"CASE WHEN {column} > {_MAX_EXACT} OR {column} < {_MIN_EXACT}"
        f" THEN CAST({column} AS REAL)"
        f" ELSE {column} END AS {column}"
    )


# The amounts of a balance, read back as doubles beyond 2^53.
_AMOUNTS = frozenset(("allowance", "adjustment", "balance"))


def _select(cls: type[Any], table: str, where: str) -> str:
    """SELECT of ``cls``'s columns in field order (``where`` is constant SQL)."""
    columns = (_as_double(c) if cls is Balance and c in _AMOUNTS else c for c in _columns(cls))
    return f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"  # noqa: S608


def _row_factory(cls: Callable[..., _T]) -> Callable[[sqlite3.Cursor, tuple[Any, ...]], _T]:
    """Rows of a ``_select(cls, ...)`` as ``cls`` instances."""
    return lambda cursor, row: cls(*row)


_BALANCE_COLUMNS = _columns(Balance)
_balance_row = _row_factory(Balance)
_customer_row = _row_factory(CustomerRow)
_entity_row = _row_factory(EntityRow)
_CUSTOMER_BY_ID = _select(CustomerRow, "customers", "id = ?")
# Autumn's partial unique index: one id-less customer per email, case-insensitively.
# SQLite's own lower() folds ASCII only; Postgres' (Autumn's) folds every letter.
_CUSTOMER_WITHOUT_ID = _select(
    CustomerRow,
    "customers",
    "has_id = 0 AND unicode_lower(email) = unicode_lower(?) ORDER BY created_at LIMIT 1",
)


def _unicode_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


_ENTITIES_BY_ID = _select(EntityRow, "entities", "id = ? ORDER BY created_at, customer_id")
_ENTITIES_OF = _select(EntityRow, "entities", "customer_id = ? ORDER BY created_at, id")
_ENTITY_BY_ID = _select(EntityRow, "entities", "customer_id = ? AND id = ?")
_SAVED_COLUMNS = ("adjustment", "balance", "next_reset_at", "expires_at")
_SAVE_BALANCE = (
    "UPDATE balances SET "  # noqa: S608 - constant SQL
    + ", ".join(f"{c} = :{c}" for c in _SAVED_COLUMNS)
    + " WHERE pk = :pk"
)


class AmountOutOfRange(ValueError):
    """A balance would pass the double range; the HTTP layer answers it as
    ``400 invalid_request``, the request's transaction rolled back."""


def _as_stored(value: object) -> object:
    """A number as Autumn would hold it: an int beyond 2^53 becomes a double, as a
    JavaScript number is, and so never overflows SQLite's 64-bit integers.

    A sum past the double range (two grants of 1e308) is Infinity in JavaScript,
    which Autumn's Redis scripts cannot encode (cjson refuses it): refused here,
    the whole change rolled back, rather than kept as a balance no JSON can show.
    """
    if type(value) is int:
        if _MIN_EXACT <= value <= _MAX_EXACT:
            return value
    elif type(value) is not float or math.isfinite(value):
        return value
    double = as_double(value)
    if double is None:
        raise AmountOutOfRange(
            "the change would take a balance beyond the largest number "
            "(about 1.8e308); nothing was changed"
        )
    return double


_INSERT_BALANCE = (
    f"INSERT INTO balances ({', '.join(_BALANCE_COLUMNS[1:])})"  # noqa: S608 - constant SQL
    f" VALUES ({', '.join(':' + c for c in _BALANCE_COLUMNS[1:])})"
)
# Unexpired balances of one customer and feature, at customer level and, when
# a second entity id is given, of that entity ('' twice means customer level).
_LIVE_BALANCES = _select(
    Balance,
    "balances",
    "customer_id = ? AND feature_id = ? AND entity_id IN (?, ?)"
    " AND (expires_at IS NULL OR expires_at > ?)",
)
_CUSTOMER_BALANCES = _select(
    Balance, "balances", "customer_id = ? AND (expires_at IS NULL OR expires_at > ?)"
)


@functools.lru_cache(maxsize=64)
def _features_balances_sql(feature_count: int, one_entity: bool) -> str:
    where = f"customer_id = ? AND feature_id IN ({', '.join('?' * feature_count)})"
    if one_entity:
        where += " AND entity_id IN ('', ?)"
    return _select(Balance, "balances", where + " AND (expires_at IS NULL OR expires_at > ?)")


_lock_row = _row_factory(LockRow)
_LOCK_BY_ID = _select(LockRow, "lock_receipts", "env = ? AND lock_id = ?")
_LOCKS_DUE = _select(
    LockRow,
    "lock_receipts",
    "customer_id = ? AND (gone_at <= ? OR release_at <= ?) ORDER BY release_at, lock_id",
)


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
        self._db.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
        # None until the schema exists; then the data_version last seen (files only).
        self._data_version: int | None = None
        self._features: dict[str, FeatureRow] = {}
        with self.transaction():
            tables = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master")}
            if "balances" in tables and "granted" in self._columns("balances"):
                self._migrate_granted_usage_balances()
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._add_missing_columns()
            if "server_meta" not in tables and self._has_rows("features", "customers"):
                # Seeded by a version that kept no mark. One whose seed was cut
                # short has neither features nor customers: it is seeded again.
                self.mark_seeded()
        self._load_features()
        if self.path is not None:
            self._data_version = self._db.execute("PRAGMA data_version").fetchone()[0]
        self._claims_since_sweep = 0
        # A hint that lock receipts may exist, so calls skip the query when none ever did;
        # read again whenever another process sharing the file commits.
        self._may_have_locks = self._any_lock()

    def _any_lock(self) -> bool:
        return self._db.execute("SELECT 1 FROM lock_receipts LIMIT 1").fetchone() is not None

    def close(self) -> None:
        self._db.close()

    def _has_rows(self, *tables: str) -> bool:
        return any(
            self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()  # noqa: S608
            for table in tables
        )

    def seeded(self) -> bool:
        """Whether the seed was applied; ask inside the transaction that will apply it."""
        return (
            self._db.execute("SELECT 1 FROM server_meta WHERE name = 'seeded'").fetchone()
            is not None
        )

    def mark_seeded(self) -> None:
        """Record the seed, in the transaction that applies it: both commit or neither."""
        self._db.execute("INSERT OR IGNORE INTO server_meta (name, value) VALUES ('seeded', '1')")

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def _add_missing_columns(self) -> None:
        for table, column, definition in _ADDED_COLUMNS:
            if column not in self._columns(table):
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def _migrate_granted_usage_balances(self) -> None:
        """Convert the first layout (granted + usage, the caller's id as the only id).

        A top-up used to raise ``granted``; it is carried over as the grant the
        balance resets to, with what remained kept as its balance.
        """
        cursor = self._db.execute("SELECT * FROM balances")
        cursor.row_factory = sqlite3.Row
        old = cursor.fetchall()
        for statement in (
            "DROP INDEX IF EXISTS balances_by_owner_interval",
            "DROP INDEX IF EXISTS balances_by_owner",
            "DROP TABLE balances",
            "DROP TABLE IF EXISTS meta",
            *_SCHEMA.split(";"),
        ):
            if statement.strip():
                self._db.execute(statement)
        for row in old:
            generated = row["id"].startswith("cus_ent_")
            self.insert_balance(
                Balance(
                    pk=0,
                    id=row["id"] if generated else new_balance_id(),
                    balance_id=None if generated else row["id"],
                    customer_id=row["customer_id"],
                    entity_id=row["entity_id"],
                    feature_id=row["feature_id"],
                    allowance=row["granted"],
                    adjustment=0,
                    balance=row["granted"] - row["usage"],
                    unlimited=bool(row["unlimited"]),
                    interval=row["interval"] or "one_off",
                    interval_count=row["interval_count"],
                    next_reset_at=row["next_reset_at"],
                    expires_at=row["expires_at"],
                    rollover=row["rollover"],
                    created_at=row["created_at"],
                )
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        if self._data_version is not None:
            self._reload_if_changed_elsewhere()
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._load_features()
            raise
        else:
            self._db.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the open transaction that can fail alone (one item of a batch).

        On an exception what it wrote is undone and the exception propagates;
        the transaction around it goes on.
        """
        self._db.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO part")
            self._db.execute("RELEASE part")
            raise
        else:
            self._db.execute("RELEASE part")

    def _reload_if_changed_elsewhere(self) -> None:
        # Another process serving the same file may have committed since our
        # last transaction (data_version changes only for others' commits);
        # the write lock is held here, so the reload sees the latest state.
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            # Everything this process caches of the file is read again: the other
            # process may have made features, or lock receipts this one must release.
            self._load_features()
            self._may_have_locks = self._any_lock()

    # -- features (cached: read on every balance call, written rarely) --

    def _load_features(self) -> None:
        cursor = self._db.execute(
            "SELECT id, name, type, consumable, event_names, archived, credit_schema,"
            " ai_markups FROM features ORDER BY rowid"
        )
        cursor.row_factory = sqlite3.Row
        self._features = {
            r["id"]: FeatureRow(
                id=r["id"],
                name=r["name"],
                type=r["type"],
                consumable=bool(r["consumable"]),
                event_names=tuple(json.loads(r["event_names"])),
                archived=bool(r["archived"]),
                credit_schema=tuple(
                    CreditCost(item["metered_feature_id"], item["credit_cost"])
                    for item in json.loads(r["credit_schema"])
                ),
                ai_markups=None if r["ai_markups"] is None else json.loads(r["ai_markups"]),
            )
            for r in cursor
        }

    def feature(self, feature_id: str) -> FeatureRow | None:
        return self._features.get(feature_id)

    def features(self) -> list[FeatureRow]:
        return list(self._features.values())

    def feature_map(self) -> Mapping[str, FeatureRow]:
        return self._features

    def insert_feature(self, feature: FeatureRow, now_ms: int) -> None:
        self._db.execute(
            "INSERT INTO features (id, name, type, consumable, event_names, archived, created_at,"
            " credit_schema, ai_markups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                feature.id,
                feature.name,
                feature.type,
                int(feature.consumable),
                json.dumps(list(feature.event_names)),
                int(feature.archived),
                now_ms,
                json.dumps([dataclasses.asdict(item) for item in feature.credit_schema]),
                None if feature.ai_markups is None else json.dumps(feature.ai_markups),
            ),
        )
        self._features[feature.id] = feature

    # -- customers and entities --

    def customer(self, customer_id: str) -> CustomerRow | None:
        cursor = self._db.execute(_CUSTOMER_BY_ID, (customer_id,))
        cursor.row_factory = _customer_row
        found: CustomerRow | None = cursor.fetchone()
        return found

    def insert_customer(self, customer: CustomerRow) -> None:
        self._db.execute(
            "INSERT INTO customers (id, name, email, created_at, fingerprint, metadata,"
            " send_email_receipts, has_id) VALUES (:id, :name, :email, :created_at,"
            " :fingerprint, :metadata, :send_email_receipts, :has_id)",
            dataclasses.asdict(customer),
        )

    def customer_without_id(self, email: str) -> CustomerRow | None:
        """The customer created without an id and with ``email`` (any case), if any."""
        cursor = self._db.execute(_CUSTOMER_WITHOUT_ID, (email,))
        cursor.row_factory = _customer_row
        found: CustomerRow | None = cursor.fetchone()
        return found

    def update_customer(self, customer: CustomerRow) -> None:
        """Write back the fields a later call may change (and the id a claim gives)."""
        self._db.execute(
            "UPDATE customers SET name = :name, email = :email,"
            " send_email_receipts = :send_email_receipts WHERE id = :id",
            dataclasses.asdict(customer),
        )

    def give_customer_id(self, key: str, customer_id: str) -> None:
        """Give the id-less customer stored under ``key`` the id ``customer_id``.

        Such a customer has no balances or entities (nothing can name it), so
        no row refers to its key.
        """
        self._db.execute(
            "UPDATE customers SET id = ?, has_id = 1 WHERE id = ? AND has_id = 0",
            (customer_id, key),
        )

    def entities_named(self, entity_id: str) -> list[EntityRow]:
        """Every customer's entity with id ``entity_id``."""
        cursor = self._db.execute(_ENTITIES_BY_ID, (entity_id,))
        cursor.row_factory = _entity_row
        found: list[EntityRow] = cursor.fetchall()
        return found

    def entities_of(self, customer_id: str) -> list[EntityRow]:
        """The customer's entities, oldest first."""
        cursor = self._db.execute(_ENTITIES_OF, (customer_id,))
        cursor.row_factory = _entity_row
        found: list[EntityRow] = cursor.fetchall()
        return found

    def entity(self, customer_id: str, entity_id: str) -> EntityRow | None:
        cursor = self._db.execute(_ENTITY_BY_ID, (customer_id, entity_id))
        cursor.row_factory = _entity_row
        found: EntityRow | None = cursor.fetchone()
        return found

    def insert_entity(self, entity: EntityRow) -> None:
        self._db.execute(
            "INSERT INTO entities (customer_id, id, name, created_at)"
            " VALUES (:customer_id, :id, :name, :created_at)",
            dataclasses.asdict(entity),
        )

    def recent_customers(self, limit: int) -> tuple[list[CustomerRow], int]:
        """The ``limit`` customers created last, newest first, and how many there are."""
        cursor = self._db.execute(
            _select(CustomerRow, "customers", "1") + " ORDER BY created_at DESC, id LIMIT ?",
            (limit,),
        )
        cursor.row_factory = _customer_row
        rows: list[CustomerRow] = cursor.fetchall()
        (total,) = self._db.execute("SELECT count(*) FROM customers").fetchone()
        return rows, total

    # -- balances --

    def _balances(self, sql: str, args: tuple[Any, ...]) -> list[Balance]:
        cursor = self._db.execute(sql, args)
        cursor.row_factory = _balance_row
        found: list[Balance] = cursor.fetchall()
        with_rollovers = [b for b in found if b.rollover is not None]
        if with_rollovers:
            self._load_rollovers(with_rollovers)
        return found

    def _load_rollovers(self, balances: list[Balance]) -> None:
        by_pk = {b.pk: b for b in balances}
        marks = ", ".join("?" * len(by_pk))
        for pk, balance_pk, amount, usage, expires_at, rollover_id in self._db.execute(
            f"SELECT pk, balance_pk, {_as_double('balance')}, {_as_double('usage')},"  # noqa: S608
            " expires_at, id FROM rollovers"
            f" WHERE balance_pk IN ({marks}) ORDER BY pk",
            tuple(by_pk),
        ):
            # Rollovers saved before they had ids get a stable one from their row.
            by_pk[balance_pk].rollovers.append(
                Rollover(amount, usage, expires_at, rollover_id or f"roll_{pk}")
            )

    def live_balances(
        self, customer_id: str, feature_id: str, entity_id: str, now_ms: int
    ) -> list[Balance]:
        """Unexpired balances of the customer's feature: customer-level, plus the entity's."""
        return self._balances(_LIVE_BALANCES, (customer_id, feature_id, "", entity_id, now_ms))

    def customer_balances(self, customer_id: str, now_ms: int) -> list[Balance]:
        """Every unexpired balance of the customer, its entities' included."""
        return self._balances(_CUSTOMER_BALANCES, (customer_id, now_ms))

    def balance_id_taken(self, customer_id: str, balance_id: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM balances WHERE customer_id = ? AND balance_id = ?",
                (customer_id, balance_id),
            ).fetchone()
            is not None
        )

    def insert_balance(self, b: Balance) -> None:
        values = {c: _as_stored(getattr(b, c)) for c in _BALANCE_COLUMNS}
        values["unlimited"] = int(b.unlimited)
        b.pk = self._db.execute(_INSERT_BALANCE, values).lastrowid or 0

    def save_balances(self, balances: Iterable[Balance]) -> None:
        """Write back what changed of existing balances: numbers, dates and rollovers."""
        for b in balances:
            if not b.changed:
                continue
            self._db.execute(
                _SAVE_BALANCE, {c: _as_stored(getattr(b, c)) for c in ("pk", *_SAVED_COLUMNS)}
            )
            if b.rollover is not None:
                self._db.execute("DELETE FROM rollovers WHERE balance_pk = ?", (b.pk,))
                self._db.executemany(
                    "INSERT INTO rollovers (balance_pk, balance, usage, expires_at, id)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        (b.pk, _as_stored(r.balance), _as_stored(r.usage), r.expires_at, r.id)
                        for r in b.rollovers
                    ],
                )
            b.changed = False

    # -- idempotency keys --

    def claim_idempotency_key(self, scope: str, key: str, now_ms: int, window_ms: int) -> bool:
        """Claim ``key`` unless a claim younger than ``window_ms`` holds it; True if claimed.

        One statement decides, inside the caller's write transaction, so two
        processes sharing the file cannot both claim a key.
        """
        # A claim older than its window may be taken afresh.
        claimed = self._db.execute(
            "INSERT INTO idempotency_keys (scope, key, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (scope, key) DO UPDATE SET created_at = excluded.created_at"
            " WHERE idempotency_keys.created_at <= ?",
            (scope, key, now_ms, now_ms - window_ms),
        ).rowcount
        self._claims_since_sweep += 1
        if self._claims_since_sweep >= 1000:
            self._claims_since_sweep = 0
            self._db.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (now_ms - window_ms,)
            )
        return claimed == 1

    def release_idempotency_key(self, scope: str, key: str) -> None:
        self._db.execute("DELETE FROM idempotency_keys WHERE scope = ? AND key = ?", (scope, key))

    # -- balances of several features, balance deletion --

    def features_balances(
        self, customer_id: str, feature_ids: Iterable[str], entity_id: str | None, now_ms: int
    ) -> list[Balance]:
        """Unexpired balances of the customer's features.

        With ``entity_id``, the customer-level ones and that entity's; without,
        every one of them, entities' included.
        """
        ids = tuple(feature_ids)
        if entity_id is None:
            args: tuple[Any, ...] = (customer_id, *ids, now_ms)
        else:
            args = (customer_id, *ids, entity_id, now_ms)
        return self._balances(_features_balances_sql(len(ids), entity_id is not None), args)

    def delete_balances(self, balances: Iterable[Balance]) -> None:
        pks = [(b.pk,) for b in balances]
        self._db.executemany("DELETE FROM rollovers WHERE balance_pk = ?", pks)
        self._db.executemany("DELETE FROM balances WHERE pk = ?", pks)

    # -- lock receipts --

    def lock(self, env: str, lock_id: str) -> LockRow | None:
        cursor = self._db.execute(_LOCK_BY_ID, (env, lock_id))
        cursor.row_factory = _lock_row
        found: LockRow | None = cursor.fetchone()
        return found

    def insert_lock(self, row: LockRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO lock_receipts"
            " (env, lock_id, customer_id, receipt, release_at, gone_at)"
            " VALUES (:env, :lock_id, :customer_id, :receipt, :release_at, :gone_at)",
            dataclasses.asdict(row),
        )
        self._may_have_locks = True

    def delete_lock(self, env: str, lock_id: str) -> None:
        self._db.execute("DELETE FROM lock_receipts WHERE env = ? AND lock_id = ?", (env, lock_id))

    def locks_due(self, customer_id: str, now_ms: int) -> list[LockRow]:
        """The customer's receipts to release or forget at ``now_ms``."""
        if not self._may_have_locks:
            return []
        cursor = self._db.execute(_LOCKS_DUE, (customer_id, now_ms, now_ms))
        cursor.row_factory = _lock_row
        found: list[LockRow] = cursor.fetchall()
        return found
