"""The page ``autumn-local serve`` shows at ``/``: customers and their balances, the
recent requests, the faults in force and the clock, with controls for the last two.

``routes`` serves it (static files from ``files/``, JSON under ``/_local/``) and
records the API's requests; ``snapshot`` reads the server's state into what it shows.
"""
