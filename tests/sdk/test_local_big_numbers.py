"""The SDK sends what Autumn accepts beyond 2^53, and reads what it answers.

Autumn takes any finite number as an amount (``z.number()``) and answers with
``JSON.stringify``'s digits; here through the SDK against the local server,
which answers as Autumn does (``tests/local/test_big_numbers.py``).
"""

from __future__ import annotations

import pytest

from autumn_core import AutumnError, SDKValidationError
from autumn_funcs import Autumn
from autumn_local import LocalAutumn

KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}


async def test_amounts_beyond_2_53_go_through_the_sdk(local_autumn: LocalAutumn) -> None:
    async with Autumn(local_autumn.secret_key, server_url=local_autumn.url) as autumn:
        await autumn.balances.create(**KEY, included_grant=2**60 + 1)
        check = await autumn.balances.check(**KEY, required_balance=2**60 + 1)
        assert check.allowed is True  # the same double as the grant
        track = await autumn.balances.track(**KEY, value=1e300)
        assert track.value == 1e300
        assert track.balance is not None
        assert float(track.balance.usage) == 2.0**60  # written 1152921504606847000
        await autumn.balances.update(**KEY, add_to_balance=1e300)
        customer = await autumn.customers.get(customer_id="cus_123")
        assert customer.balances["api_calls"].remaining == 1e300


async def test_what_autumn_refuses_is_refused(local_autumn: LocalAutumn) -> None:
    async with Autumn(local_autumn.secret_key, server_url=local_autumn.url) as autumn:
        with pytest.raises(AutumnError) as refused:
            await autumn.balances.create(**KEY, included_grant=10**400)  # Infinity to Autumn
        assert refused.value.status_code == 400
        with pytest.raises(SDKValidationError):  # zod's .int(): safe integers only
            await autumn.balances.track_tokens(
                customer_id="cus_123", model_id="openai/gpt-4o", input_tokens=2**53, output_tokens=1
            )
