"""balances.batch_track: validated whole, applied item by item, each keyed item once.

Facts from Autumn's handleBatchTrack / runBatchTrack / runQueuedTrack
(server/src/internal/balances/) and their unit tests (runBatchTrack.test.ts,
handle-batch-track-status.test.ts, batch-track-retry-dedup.test.ts).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from autumn_local import LocalAutumn
from autumn_local.run.config import ConfigError
from tests.local.conftest import NOW, USAGE, Api

BATCH = "/v1/balances.batch_track"
WORDS = {"customer_id": "cus_123", "feature_id": "words"}


async def grant(api: Api, amount: float = 100, feature_id: str = "words") -> None:
    body = {"customer_id": "cus_123", "feature_id": feature_id, "included_grant": amount}
    (await api.create(**body)).ok()


async def used(api: Api, feature_id: str = "words") -> Any:
    return (await api.totals(feature_id))[2]


async def test_answers_success_and_the_items_are_applied_before_the_answer(usage: Api) -> None:
    await grant(usage)
    reply = await usage.post(
        BATCH,
        [
            {**WORDS, "value": 2},
            {"customer_id": "cus_123", "event_name": "generation", "value": 3},
            {**WORDS},  # value defaults to 1
        ],
    )
    assert reply.ok() == {"success": True}
    assert reply.headers["Content-Type"].startswith("application/json")
    assert await used(usage) == 6


async def test_items_apply_in_order_and_a_failing_item_fails_alone(usage: Api) -> None:
    # reject refuses an item that does not fit; the order decides which one.
    await grant(usage, 10)
    reply = await usage.post(
        BATCH,
        [
            {**WORDS, "value": 8, "overage_behavior": "reject"},
            {**WORDS, "value": 5, "overage_behavior": "reject"},  # 2 left: refused
            {**WORDS, "value": 2, "overage_behavior": "reject"},
            {"customer_id": "cus_nobody", "feature_id": "words"},  # unknown customer
        ],
    )
    assert reply.ok() == {"success": True}  # the worker's failures are never answered
    assert await usage.totals("words") == (10, 0, 10)


@pytest.mark.parametrize(
    ("item", "mentions"),
    [
        ({"feature_id": "words"}, "1: customer_id"),
        ({"customer_id": "cus_123"}, "1: Either feature_id or event_name"),
        ({**WORDS, "event_name": "generation"}, "1: Either feature_id or event_name"),
        ({**WORDS, "value": "3"}, "1: value must be a number"),
        ({**WORDS, "overage_behavior": "never"}, "1: overage_behavior"),
        ({**WORDS, "timestamp": NOW + 60_000}, "1: timestamp"),
        ("words", "1: must be an object"),
    ],
)
async def test_one_item_failing_the_schema_refuses_the_whole_batch(
    usage: Api, item: Any, mentions: str
) -> None:
    await grant(usage)
    reply = await usage.post(BATCH, [{**WORDS, "value": 4}, item, {**WORDS}])
    reply.error(400, "invalid_inputs", mentions=mentions)
    assert await used(usage) == 0


async def test_an_unknown_feature_refuses_the_whole_batch_with_404(usage: Api) -> None:
    await grant(usage)
    reply = await usage.post(BATCH, [{**WORDS}, {"customer_id": "cus_123", "feature_id": "nope"}])
    reply.error(404, "feature_not_found", mentions="1: ")
    reply = await usage.post(BATCH, [{**WORDS}, {"customer_id": "cus_123", "event_name": "nope"}])
    reply.error(404, "invalid_request", mentions="No features found for event name: nope")
    assert await used(usage) == 0


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ([], "got 0"),
        ([WORDS] * 1001, "got 1001"),
        (WORDS, "got object"),
        (None, "got null"),
    ],
)
async def test_the_body_is_an_array_of_1_to_1000_items(
    usage: Api, body: Any, mentions: str
) -> None:
    await grant(usage, 2000)
    (await usage.post(BATCH, body)).error(400, "invalid_inputs", mentions=mentions)
    assert await used(usage) == 0


async def test_an_empty_body_is_refused_as_not_an_array(usage: Api) -> None:
    (await usage.post(BATCH, data=b"")).error(400, "invalid_inputs", mentions="array")


async def test_a_batch_of_1000_is_applied_whole(usage: Api) -> None:
    await grant(usage, 5000)
    (await usage.post(BATCH, [{**WORDS, "value": 2}] * 1000)).ok()
    assert await used(usage) == 2000


async def test_a_batch_sent_twice_applies_each_keyed_item_once(usage: Api) -> None:
    await grant(usage)
    batch = [
        {**WORDS, "value": 1, "idempotency_key": "e1"},
        {**WORDS, "value": 10},  # no key: counted each time, as on Autumn
        {**WORDS, "value": 100 / 4, "idempotency_key": "e2"},
    ]
    (await usage.post(BATCH, batch)).ok()
    assert await used(usage) == 36
    (await usage.post(BATCH, batch)).ok()
    assert await used(usage) == 46


async def test_a_key_repeated_inside_one_batch_applies_once(usage: Api) -> None:
    await grant(usage)
    batch = [{**WORDS, "value": 3, "idempotency_key": "same"}] * 3
    (await usage.post(BATCH, batch)).ok()
    assert await used(usage) == 3


async def test_body_keys_are_shared_with_balances_track(usage: Api) -> None:
    await grant(usage)
    (await usage.track(**WORDS, value=4, idempotency_key="t1")).ok()
    (await usage.post(BATCH, [{**WORDS, "value": 4, "idempotency_key": "t1"}])).ok()
    assert await used(usage) == 4
    (await usage.post(BATCH, [{**WORDS, "value": 5, "idempotency_key": "b1"}])).ok()
    reply = await usage.track(**WORDS, value=5, idempotency_key="b1")
    reply.error(409, "duplicate_idempotency_key")
    assert await used(usage) == 9


async def test_a_failed_item_releases_its_key(usage: Api) -> None:
    await grant(usage, 5)
    item = {**WORDS, "value": 8, "overage_behavior": "reject", "idempotency_key": "k"}
    (await usage.post(BATCH, [item])).ok()
    assert await used(usage) == 0
    (await usage.update(**WORDS, add_to_balance=10)).ok()
    (await usage.post(BATCH, [item])).ok()
    assert (await usage.totals("words"))[1] == 15 - 8


async def test_the_idempotency_key_header_covers_the_whole_request(usage: Api) -> None:
    await grant(usage)
    headers = {"Idempotency-Key": "req-1"}
    (await usage.post(BATCH, [{**WORDS, "value": 2}], headers=headers)).ok()
    again = await usage.post(BATCH, [{**WORDS, "value": 2}], headers=headers)
    again.error(409, "duplicate_idempotency_key")
    assert await used(usage) == 2


async def test_a_refused_batch_releases_the_header_key(usage: Api) -> None:
    await grant(usage)
    headers = {"Idempotency-Key": "req-2"}
    (await usage.post(BATCH, [{"feature_id": "words"}], headers=headers)).error(
        400, "invalid_inputs"
    )
    (await usage.post(BATCH, [{**WORDS, "value": 2}], headers=headers)).ok()
    assert await used(usage) == 2


async def test_ten_batches_a_second_for_the_organisation(http: aiohttp.ClientSession) -> None:
    async with LocalAutumn(config=USAGE) as server:
        server.clock.set_ms(NOW)
        api = Api(http, server)
        await grant(api, 1000)
        for n in range(10):
            reply = await api.post(BATCH, [{**WORDS}])
            reply.ok()
            assert reply.headers["RateLimit-Policy"] == "10;w=1"
            assert reply.headers["RateLimit-Remaining"] == str(9 - n)
        refused = await api.post(BATCH, [{"customer_id": "cus_other", "feature_id": "words"}])
        assert refused.status == 429
        assert refused.body == b"Too many requests, please try again later."
        assert refused.headers["Retry-After"] == "1"
        assert await used(api) == 10
        server.clock.advance(seconds=1)
        (await api.post(BATCH, [{**WORDS}])).ok()


async def test_with_a_delay_the_answer_comes_first_and_the_items_later(
    http: aiohttp.ClientSession,
) -> None:
    async with LocalAutumn(config=USAGE, rate_limits=False, batch_apply_delay=0.3) as server:
        api = Api(http, server)
        await grant(api)
        (await api.post(BATCH, [{**WORDS, "value": 2}])).ok()
        (await api.post(BATCH, [{**WORDS, "value": 3, "overage_behavior": "reject"}])).ok()
        assert await used(api) == 0
        assert server.batches.pending == 2
        for _ in range(50):
            await asyncio.sleep(0.05)
            if server.batches.pending == 0:
                break
        assert await used(api) == 5
        # A bad item is still refused at once, with the whole batch.
        (await api.post(BATCH, [{**WORDS, "feature_id": "nope"}])).error(404, "feature_not_found")


async def test_batches_waiting_when_the_server_stops_are_applied(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    db = tmp_path / "autumn.db"
    async with LocalAutumn(config=USAGE, db_path=db, batch_apply_delay=3600) as server:
        api = Api(http, server)
        await grant(api)
        (await api.post(BATCH, [{**WORDS, "value": 7}])).ok()
        assert await used(api) == 0
    async with LocalAutumn(config=USAGE, db_path=db) as server:
        assert await used(Api(http, server)) == 7


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_apply_delay"):
        LocalAutumn(batch_apply_delay=-1)


async def test_items_of_one_customer_in_every_shape_all_count(usage: Api) -> None:
    # The customer-level balance is shared by the customer and its entities,
    # and by a feature_id item and an event_name item: each item sees the
    # balance the ones before it left.
    await grant(usage, 100)
    seat = {**WORDS, "entity_id": "seat_1"}
    batch = [
        {**seat, "value": 1},
        {**WORDS, "value": 2},
        {**seat, "value": 3},
        {"customer_id": "cus_123", "event_name": "generation", "value": 4},
        {**WORDS, "value": 90, "overage_behavior": "reject"},  # 90 left: fits exactly
        {**seat, "value": 1, "overage_behavior": "reject"},  # nothing left: refused
        {**WORDS, "value": 5},  # capped at 0 remaining
    ]
    (await usage.post(BATCH, batch)).ok()
    assert await usage.totals("words") == (100, 0, 100)


async def test_each_item_deducts_from_its_own_subjects_balances(usage: Api) -> None:
    # The entity's own balance goes first for its items, never for the
    # customer's; an event_name item reaches every feature listing it.
    await grant(usage, 10)
    await grant(usage, 10, feature_id="tokens")
    (await usage.create(**WORDS, entity_id="seat_1", included_grant=5)).ok()
    seat = {**WORDS, "entity_id": "seat_1"}
    batch = [
        {**WORDS, "value": 3},
        {**seat, "value": 4},
        {**WORDS, "value": 1},
        {"customer_id": "cus_123", "event_name": "generation", "value": 2},
        {**seat, "value": 2},  # 1 left on the seat, then the customer's
    ]
    (await usage.post(BATCH, batch)).ok()
    entity = await usage.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
    # The entity view shows its own balance and the customer's it may use.
    assert [b["remaining"] for b in entity.ok()["balances"]["words"]["breakdown"]] == [0, 3]
    assert await usage.totals("tokens") == (10, 8, 2)
    # customer-level: 10 - 3 - 1 - 2 - 1 = 3; with the seat's 0, 3 in all.
    assert (await usage.totals("words"))[1] == 3


async def test_the_delay_can_come_from_the_config(http: aiohttp.ClientSession) -> None:
    async with LocalAutumn(config={**USAGE, "batch_apply_delay": 30}, rate_limits=False) as server:
        assert server.batches.delay_s == 30
        api = Api(http, server)
        await grant(api)
        (await api.post(BATCH, [{**WORDS, "value": 2}])).ok()
        assert await used(api) == 0
    # The argument wins over the config.
    assert LocalAutumn(config={"batch_apply_delay": 30}, batch_apply_delay=0).batches.delay_s == 0
    with pytest.raises(ConfigError, match="batch_apply_delay"):
        LocalAutumn(config={"batch_apply_delay": -1})


async def test_a_batch_whose_answer_was_lost_can_be_resent(usage: Api) -> None:
    # The connection drops after the batch was applied: the client cannot
    # know, resends it, and the keyed events still count once.
    await grant(usage)
    batch = [{**WORDS, "value": 1, "idempotency_key": f"e{n}"} for n in range(5)]
    usage.server.faults.inject_next("lost-response")
    with pytest.raises(aiohttp.ClientError):
        await usage.post(BATCH, batch)
    assert await used(usage) == 5
    (await usage.post(BATCH, batch)).ok()
    assert await used(usage) == 5


async def test_waiting_batches_can_be_applied_on_demand(http: aiohttp.ClientSession) -> None:
    async with LocalAutumn(config=USAGE, rate_limits=False, batch_apply_delay=3600) as server:
        api = Api(http, server)
        await grant(api)
        (await api.post(BATCH, [{**WORDS, "value": 2}])).ok()
        (await api.post(BATCH, [{**WORDS, "value": 3}])).ok()
        assert await used(api) == 0
        assert server.apply_pending_batches() == 2
        assert await used(api) == 5
        assert server.apply_pending_batches() == 0


async def test_a_waiting_batch_is_resolved_against_the_features_when_applied(
    http: aiohttp.ClientSession,
) -> None:
    # Autumn's worker resolves a queued item's features when it runs the item:
    # a feature that takes the event meanwhile is deducted too.
    async with LocalAutumn(config=USAGE, rate_limits=False, batch_apply_delay=3600) as server:
        api = Api(http, server)
        await grant(api)
        event = {"customer_id": "cus_123", "event_name": "generation", "value": 2}
        (await api.post(BATCH, [event])).ok()
        images = {"id": "images", "type": "metered", "event_names": ["generation"]}
        (await api.post("/v1/features.create", images)).ok()
        await grant(api, feature_id="images")
        assert server.apply_pending_batches() == 1
        assert (await used(api), await used(api, "images")) == (2, 2)
