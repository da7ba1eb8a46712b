"""SQLite persistence: rows, one transaction per write, idempotency claims, ids, and
numbers as Autumn's JavaScript server holds them."""
