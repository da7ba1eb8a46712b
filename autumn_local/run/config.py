"""Seed data and the optional JSON / TOML configuration file.

A new database starts with the same data the API docs use in their examples:
features ``api_calls`` (metered, consumable), ``seats`` (metered, not
consumable) and ``premium`` (boolean), and customer ``cus_123``.

A config file (or dict) adds to that::

    # autumn-local.toml
    seed_defaults = true              # false: start without the data above
    secret_keys = ["am_sk_test_other"]  # accepted in addition to --secret-key

    [[features]]
    id = "words"
    type = "metered"                  # boolean | metered | credit_system
    name = "Words"                    # optional
    consumable = true                 # optional; false: continuous use (seats)
    event_names = ["generation"]      # optional; balances.track by event_name

    [[features]]
    id = "credits"
    type = "credit_system"            # credits per unit of metered features:
    credit_schema = [{ metered_feature_id = "words", credit_cost = 0.5 }]

    [[customers]]
    id = "cus_456"
    name = "Ada"                      # optional
    email = "ada@example.com"         # optional

    [[entities]]
    id = "seat_1"
    customer_id = "cus_456"
    name = "Seat one"                 # optional

    [[balances]]                      # same body as POST /v1/balances.create
    customer_id = "cus_456"
    feature_id = "credits"
    included_grant = 500

    [[features]]                      # an AI credit system, for track_tokens
    id = "ai_credits"
    type = "ai_credit_system"
    default_markup = 20               # optional: percent on every model's price
    provider_markups = { openai = { markup = 10 } }
    model_markups = { "custom/mine" = { input_cost = 1, output_cost = 2 } }

    batch_apply_delay = 2             # apply each batch_track 2 s after its answer
                                      # (default 0: before answering)

    [[models]]                        # model prices over the built-in table
    id = "openai/gpt-4o"              # (see autumn_local.rules.model_prices)
    input = 2.5
    output = 10

Features, customers and entities are added on every start if missing (so a
config can grow); balances only when the database is new, since adding them
again would duplicate them.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autumn_local.rules.customers import get_or_create
from autumn_local.rules.model_prices import ModelPriceError, ModelPrices
from autumn_local.rules.operations import create_balance, create_feature
from autumn_local.schemas.balances import parse_create_balance, parse_create_feature
from autumn_local.schemas.customers import parse_get_or_create
from autumn_local.schemas.errors import ApiError
from autumn_local.store.database import EntityRow, Store

__all__ = ["DEFAULT_SEED", "ConfigError", "ServerConfig", "apply_config", "load_config"]


_TOP_LEVEL = (
    "seed_defaults",
    "secret_keys",
    "features",
    "customers",
    "entities",
    "balances",
    "models",
    "batch_apply_delay",
)


class ConfigError(ValueError):
    """The configuration file or dict is unreadable or wrong; the message says where."""


@dataclass(frozen=True)
class ServerConfig:
    seed_defaults: bool = True
    secret_keys: tuple[str, ...] = ()
    features: tuple[Mapping[str, Any], ...] = ()
    customers: tuple[Mapping[str, Any], ...] = ()
    entities: tuple[Mapping[str, Any], ...] = ()
    balances: tuple[Mapping[str, Any], ...] = field(default=())
    # Model prices for balances.track_tokens, over the built-in table (rules/model_prices.py).
    models: tuple[Mapping[str, Any], ...] = ()
    # Seconds after its answer that a batch_track is applied (rules/batch_queue.py).
    batch_apply_delay: float = 0.0


DEFAULT_SEED = ServerConfig(
    features=(
        {"id": "api_calls", "name": "API Calls", "type": "metered", "consumable": True},
        {"id": "seats", "name": "Seats", "type": "metered", "consumable": False},
        {"id": "premium", "name": "Premium", "type": "boolean"},
    ),
    customers=({"id": "cus_123", "name": "Example Customer"},),
)


def _toml_module(path: Path) -> Any:
    # tomllib is stdlib from 3.11; on 3.10 the same API lives in the optional
    # 'tomli' package. Imported by name so neither is a hard dependency.
    try:
        return importlib.import_module("tomllib")
    except ModuleNotFoundError:
        pass
    try:
        return importlib.import_module("tomli")
    except ModuleNotFoundError:
        raise ConfigError(
            f"{path}: reading TOML on Python 3.10 needs the 'tomli' package "
            "(pip install tomli), or use a JSON config file"
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    toml = _toml_module(path)
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = toml.load(fh)
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return data


def _table_list(raw: Mapping[str, Any], key: str, where: str) -> tuple[Mapping[str, Any], ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of tables/objects")
    return tuple(value)


def load_config(source: str | Path | Mapping[str, Any] | None) -> ServerConfig:
    """Read a config from a ``.toml`` / ``.json`` file path or take a dict as is."""
    if source is None:
        return ServerConfig()
    if isinstance(source, Mapping):
        raw: Mapping[str, Any] = source
        where = "config"
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        if path.suffix.lower() == ".toml":
            raw = _read_toml(path)
        else:
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: invalid JSON: {exc}") from None
            if not isinstance(raw, dict):
                raise ConfigError(f"{path}: the top level must be an object")
    unknown = sorted(set(raw) - set(_TOP_LEVEL))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_TOP_LEVEL)}"
        )
    seed_defaults = raw.get("seed_defaults", True)
    if not isinstance(seed_defaults, bool):
        raise ConfigError(f"{where}: seed_defaults must be true or false")
    keys = raw.get("secret_keys", [])
    if not isinstance(keys, list) or not all(
        isinstance(k, str) and k.startswith("am_sk_") for k in keys
    ):
        raise ConfigError(f"{where}: secret_keys must be a list of strings starting with am_sk_")
    return ServerConfig(
        seed_defaults=seed_defaults,
        secret_keys=tuple(keys),
        features=_table_list(raw, "features", where),
        customers=_table_list(raw, "customers", where),
        entities=_table_list(raw, "entities", where),
        balances=_table_list(raw, "balances", where),
        models=_models(raw, where),
        batch_apply_delay=_batch_apply_delay(raw, where),
    )


def _batch_apply_delay(raw: Mapping[str, Any], where: str) -> float:
    value = raw.get("batch_apply_delay", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 86400:
        raise ConfigError(f"{where}: batch_apply_delay must be a number of seconds from 0 to 86400")
    return float(value)


def _models(raw: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], ...]:
    models = _table_list(raw, "models", where)
    try:
        ModelPrices(models)
    except ModelPriceError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return models


def _customer_body(entry: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(entry)
    if "id" in body and "customer_id" not in body:
        body["customer_id"] = body.pop("id")
    return body


def apply_config(store: Store, config: ServerConfig, now_ms: int) -> None:
    """Seed ``store`` (one transaction: a bad config leaves the database untouched)."""
    where = "config"
    try:
        with store.transaction():
            # Decided and recorded inside the seed's own transaction: a seed cut
            # short (kill -9) leaves no mark and runs again whole on the next
            # start, and two servers starting on one new file seed it once.
            new = not store.seeded()
            sources = [DEFAULT_SEED] if new and config.seed_defaults else []
            sources.append(config)
            for src in sources:
                for i, entry in enumerate(src.features):
                    where = f"features[{i}]"
                    p = parse_create_feature(dict(entry), strict=True)
                    if store.feature(p.id) is None:
                        create_feature(store, p, now_ms)
                for i, entry in enumerate(src.customers):
                    where = f"customers[{i}]"
                    get_or_create(store, parse_get_or_create(_customer_body(entry)), now_ms)
                for i, entry in enumerate(src.entities):
                    where = f"entities[{i}]"
                    _add_entity(store, entry, now_ms)
            if new:
                for i, entry in enumerate(config.balances):
                    where = f"balances[{i}]"
                    create_balance(store, parse_create_balance(dict(entry), strict=True), now_ms)
                store.mark_seeded()
    except ApiError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None


def _add_entity(store: Store, entry: Mapping[str, Any], now_ms: int) -> None:
    entity_id = entry.get("id")
    customer_id = entry.get("customer_id")
    name = entry.get("name")
    if not isinstance(entity_id, str) or not entity_id:
        raise ApiError(400, "invalid_inputs", "id must be a non-empty string")
    if not isinstance(customer_id, str) or store.customer(customer_id) is None:
        raise ApiError(400, "invalid_inputs", "customer_id must name a configured customer")
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "invalid_inputs", "name must be a string")
    if store.entity(customer_id, entity_id) is None:
        store.insert_entity(
            EntityRow(customer_id=customer_id, id=entity_id, name=name, created_at=now_ms)
        )
