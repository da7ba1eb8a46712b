"""Autumn's semantics, as its server applies them: creating and updating balances,
check, track, batches of tracks (and when they apply), AI credit systems and model
prices, locks, delete, deduction order, resets, credit systems, the JSON views
of what is stored, and the clock that resets and expiry are judged by."""
