"""Two servers on one database file: nothing one caches contradicts the file.

A server started while no lock existed must still release a lock that the
other server made, once it expires: its remaining shows the released amount,
a check is allowed, and a track deducts. (Two LocalAutumn instances in one
process have separate SQLite connections, as two ``serve`` processes do, and
one shared clock.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from autumn_local import LocalAutumn
from autumn_local.rules.clock import Clock
from tests.local.conftest import KEY, NOW, Api


async def test_a_lock_made_by_the_other_server_is_released_at_its_expiry(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    clock = Clock()
    clock.set_ms(NOW)
    async with (
        LocalAutumn(db_path=db, clock=clock, rate_limits=False) as first,
        LocalAutumn(db_path=db, clock=clock, rate_limits=False) as second,
        aiohttp.ClientSession() as http,
    ):
        a, b = Api(http, first), Api(http, second)
        (await a.create(**KEY, included_grant=100)).ok()  # `first` has seen no lock
        lock: dict[str, Any] = {"enabled": True, "lock_id": "l1", "expires_at": NOW + 60_000}
        (await b.check(**KEY, required_balance=100, lock=lock)).ok()
        assert (await a.totals())[1] == 0
        clock.advance(ms=60_001)  # the lock expires: its 100 comes back
        assert (await a.totals())[1] == 100
        assert (await a.check(**KEY, required_balance=100)).ok()["allowed"] is True
        (await a.track(**KEY, value=30)).ok()
        assert (await b.totals())[1] == 70
