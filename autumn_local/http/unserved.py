"""What a request to a route this server does not serve is told."""

from __future__ import annotations

__all__ = ["UNSERVED_AUTUMN_ROUTES", "unserved_route_message"]

# Autumn's balances routes this server leaves out, and what to use instead.
UNSERVED_AUTUMN_ROUTES = {
    "/v1/balances.batch_track": "send one balances.track per event",
    "/v1/balances.track_tokens": "AI credit systems are not modelled; track the tokens' credits",
    "/v1/balances.batch_track_tokens": "AI credit systems are not modelled",
}


def unserved_route_message(path: str) -> str:
    instead = UNSERVED_AUTUMN_ROUTES.get(path)
    if instead is None:
        return f"no such endpoint: {path[:200]}"
    return f"{path} is an Autumn route this local server does not serve: {instead}"
