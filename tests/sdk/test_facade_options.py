"""Every method of the facade sends the options it is given (here a header of the
caller's), whatever the server then answers."""

from __future__ import annotations

from typing import Any

import pytest

from autumn_core import AutumnDefaultError
from autumn_funcs import Autumn
from tests.scripted_server import ScriptedServer, autumn_error
from tests.sdk.conftest import SECRET, header

TOKENS = {"customer_id": "c", "model_id": "openai/gpt-4o", "input_tokens": 10, "output_tokens": 2}
CALLS: dict[str, dict[str, Any]] = {
    "balances.track": {"customer_id": "c", "feature_id": "f"},
    "balances.track_tokens": TOKENS,
    "balances.batch_track": {"events": [{"customer_id": "c", "feature_id": "f"}]},
    "balances.batch_track_tokens": {"events": [TOKENS]},
    "balances.delete": {"customer_id": "c", "feature_id": "f"},
    "customers.get": {"customer_id": "c"},
    "customers.get_or_create": {"customer_id": "c"},
    "entities.get": {"customer_id": "c", "entity_id": "e"},
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_a_facade_method_sends_its_options(scripted: ScriptedServer, name: str) -> None:
    scripted.then(autumn_error(400, "invalid_inputs"))
    async with Autumn(SECRET, server_url=scripted.url) as autumn:
        method: Any = autumn
        for part in name.split("."):
            method = getattr(method, part)
        with pytest.raises(AutumnDefaultError):
            await method(CALLS[name], options={"headers": {"X-Request-Id": "req-7"}})
    assert header(scripted.requests[0], "X-Request-Id") == "req-7"
