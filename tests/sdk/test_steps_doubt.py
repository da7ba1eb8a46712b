"""An update of several steps, which Autumn applies one by one, answered with an error:
whether a step may have run decides between a retry and an error that says the
change may be partly applied. Scripted answers on 127.0.0.1, retries on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from autumn_core import Applied, AutumnCore
from autumn_funcs import UpdateBalanceParams, balances_update
from tests.scripted_server import Reply, ScriptedServer, autumn_error, raw_reply

MakeCore = Callable[..., AutumnCore]
STEPS = {"customer_id": "cus_1", "feature_id": "api_calls", "add_to_balance": 5, "usage": 2}
HTML = b"<html>error</html>"


@pytest.mark.parametrize(
    ("reply", "sent", "applied"),
    [
        # Autumn's own 500: its handler ran, a step may be applied: no resend.
        (autumn_error(500, "internal_error"), 1, Applied.UNKNOWN),
        # A 500 page that is not Autumn's: from before the handler; resent.
        (raw_reply(500, HTML), 3, Applied.NO),
        # A 404 page that is not Autumn's (a proxy's): a step may have run behind it.
        (raw_reply(404, HTML), 1, Applied.UNKNOWN),
        # A 300, no answer of Autumn's either: nothing says no step ran.
        (raw_reply(300, HTML), 1, Applied.UNKNOWN),
    ],
)
@pytest.mark.parametrize("form", ["dict", "model"])
async def test_a_failed_update_of_several_steps(
    make_core: MakeCore,
    scripted: ScriptedServer,
    reply: Reply,
    sent: int,
    applied: Applied,
    form: str,
) -> None:
    scripted.then(reply, reply, reply)
    params = STEPS if form == "dict" else UpdateBalanceParams(**STEPS)
    res = await balances_update(make_core(), params)
    assert not res.ok
    assert len(scripted.requests) == sent
    assert res.error.applied is applied
