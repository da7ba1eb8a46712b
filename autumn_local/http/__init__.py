"""The HTTP layer: the aiohttp app and its request pipeline, every route's handler,
keys, ``x-api-version``, body reading, rate limits, injected faults and the
connection guard."""
