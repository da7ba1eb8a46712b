"""SQLite persistence: rows, one transaction per write, idempotency claims, ids."""
