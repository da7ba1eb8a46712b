"""Autumn's semantics, as its server applies them: creating and updating balances,
check, track, locks, delete, deduction order, resets, credit systems, the JSON views
of what is stored, and the errors a broken rule answers with."""
