"""features.*, seed data and configuration files."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from autumn_local import LocalAutumn
from autumn_local.run.config import ConfigError
from tests.local.conftest import Api


async def test_seed_data(api: Api) -> None:
    features = (await api.post("/v1/features.list", {})).ok()["list"]
    by_id = {f["id"]: f for f in features}
    assert set(by_id) == {"api_calls", "seats", "premium"}
    assert (by_id["api_calls"]["type"], by_id["api_calls"]["consumable"]) == ("metered", True)
    assert (by_id["seats"]["type"], by_id["seats"]["consumable"]) == ("metered", False)
    assert by_id["premium"]["type"] == "boolean"
    for feature in features:
        assert {"id", "name", "type", "consumable", "archived"} <= set(feature)
    customer = await api.customer()
    assert customer["id"] == "cus_123" and customer["balances"] == {}
    assert customer["env"] == "sandbox"


async def test_features_create(api: Api) -> None:
    schema = [{"metered_feature_id": "api_calls", "credit_cost": 0.5}]
    created = (
        await api.post(
            "/v1/features.create",
            {"id": "credits", "name": "Credits", "type": "credit_system", "credit_schema": schema},
        )
    ).ok()
    assert created["id"] == "credits" and created["consumable"] is True
    assert created["credit_schema"] == schema
    (await api.post("/v1/features.create", {"feature_id": "flag", "type": "boolean"})).ok()
    (await api.post("/v1/features.create", {"id": "credits", "type": "metered"})).error(
        409, "invalid_request"
    )
    (await api.post("/v1/features.create", {"id": "x", "type": "gauge"})).error(
        400, "invalid_inputs", mentions="type"
    )
    (await api.post("/v1/features.create", {"type": "metered"})).error(
        400, "invalid_inputs", mentions="id"
    )
    (
        await api.post("/v1/features.create", {"id": "b", "type": "boolean", "consumable": True})
    ).error(400, "invalid_inputs", mentions="consumable")
    (await api.create(customer_id="cus_123", feature_id="credits", included_grant=5)).ok()
    (await api.create(customer_id="cus_123", feature_id="flag")).ok()
    ids = [f["id"] for f in (await api.post("/v1/features.list", {})).ok()["list"]]
    assert ids[-2:] == ["credits", "flag"]


TOML = """
secret_keys = ["am_sk_live_extra"]

[[features]]
id = "credits"
type = "credit_system"
credit_schema = [{ metered_feature_id = "api_calls", credit_cost = 2 }]

[[customers]]
id = "cus_456"
name = "Ada"

[[entities]]
id = "seat_1"
customer_id = "cus_456"

[[balances]]
customer_id = "cus_456"
feature_id = "credits"
included_grant = 500
reset = { interval = "week" }
"""


async def test_toml_config(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    path = tmp_path / "autumn.toml"
    path.write_text(TOML)
    async with LocalAutumn(config=path) as server:
        api = Api(http, server)
        entry = await api.balance("credits", "cus_456")
        assert entry is not None and entry["granted"] == 500
        assert (await api.balance("api_calls")) is None  # seed customer still there
        live = await api.post(
            "/v1/customers.get", {"customer_id": "cus_456"}, key="am_sk_live_extra"
        )
        assert live.ok()["env"] == "live"
        (await api.post("/v1/entities.get", {"customer_id": "cus_456", "entity_id": "seat_1"})).ok()


async def test_json_config_without_defaults(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    path = tmp_path / "autumn.json"
    path.write_text(
        json.dumps({"seed_defaults": False, "features": [{"id": "only", "type": "metered"}]})
    )
    async with LocalAutumn(config=path) as server:
        api = Api(http, server)
        ids = [f["id"] for f in (await api.post("/v1/features.list", {})).ok()["list"]]
        assert ids == ["only"]
        (await api.post("/v1/customers.get", {"customer_id": "cus_123"})).error(
            404, "customer_not_found"
        )


@pytest.mark.parametrize(
    ("config", "mentions"),
    [
        ({"colour": 1}, "colour"),
        ({"features": {"id": "x"}}, "features"),
        ({"features": [{"id": "x", "type": "nope"}]}, "features[0]"),
        ({"features": [{"id": "x", "type": "metered", "extra": 1}]}, "extra"),
        ({"entities": [{"id": "e", "customer_id": "missing"}]}, "entities[0]"),
        (
            {"balances": [{"customer_id": "cus_123", "feature_id": "nope", "included_grant": 1}]},
            "balances[0]",
        ),
        (
            {"balances": [{"customer_id": "cus_123", "feature_id": "api_calls", "included": 1}]},
            "included_grant",
        ),
        ({"secret_keys": ["sk_x"]}, "secret_keys"),
        ({"seed_defaults": "yes"}, "seed_defaults"),
    ],
)
async def test_bad_configs_are_refused_clearly(config: dict[str, object], mentions: str) -> None:
    with pytest.raises(ConfigError) as info:
        await LocalAutumn(config=config).start()
    assert mentions in str(info.value)


async def test_bad_config_files(tmp_path: Path) -> None:
    broken = tmp_path / "x.toml"
    broken.write_text("features = [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        LocalAutumn(config=broken)
    with pytest.raises(ConfigError, match="not found"):
        LocalAutumn(config=tmp_path / "missing.json")
    bad_json = tmp_path / "x.json"
    bad_json.write_text("[1]")
    with pytest.raises(ConfigError, match="object"):
        LocalAutumn(config=bad_json)
