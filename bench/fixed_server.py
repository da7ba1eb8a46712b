"""An HTTP/1.1 keep-alive server that answers each operation's POST as Autumn would.

The answers come from operations.py: ``{"success": true}`` for balances.create,
and for check and track a balance that moves by one unit with every call, so
that no two answers are the same bytes, as on a real server. It parses just
enough HTTP to find where each request ends and which path it names, so the
client under test, not the server, is the bottleneck. Other methods and paths
get an empty 404.

With ``--hold N`` it answers the first request at once (the client's warm-up)
and then holds every answer until N requests are waiting, and releases them
together: exactly N calls are in flight at the peak however fast the client
manages to send them.

Run: ``python bench/fixed_server.py --port 0 [--hold 10000]``; it prints the
port it listens on, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource

from operations import OPERATIONS, BenchOperation, answer_for


def ok_response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"\r\n" + body
    )


# Keyed by the request line's start, matched case-insensitively like the rest of the head.
ROUTES = {f"post {op.path} ".lower().encode(): op for op in OPERATIONS.values()}
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
SERVED = itertools.count(1)  # calls answered, across operations: the units used so far


def response_to(op: BenchOperation | None) -> bytes:
    return NOT_FOUND if op is None else ok_response(answer_for(op, next(SERVED)))


class Gate:
    """Sends answers at once, or, with ``hold`` > 1, in batches of ``hold`` after the first."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.free = 1
        self.waiting: list[tuple[asyncio.Transport, bytes]] = []

    def answer(self, transport: asyncio.Transport, response: bytes) -> None:
        if self.hold <= 1 or self.free > 0:
            self.free -= 1
            transport.write(response)
            return
        self.waiting.append((transport, response))
        if len(self.waiting) >= self.hold:
            for waiting_transport, waiting_response in self.waiting:
                if not waiting_transport.is_closing():
                    waiting_transport.write(waiting_response)
            self.waiting.clear()


class FixedResponder(asyncio.Protocol):
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[: end + 2].lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15 : head.find(b"\r\n", start)]) if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            request_line = head[: head.find(b"http/")]
            self.gate.answer(self.transport, response_to(ROUTES.get(request_line)))


async def serve(port: int, hold: int) -> None:
    gate = Gate(hold)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FixedResponder(gate), "127.0.0.1", port, backlog=16384
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hold", type=int, default=0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(args.port, args.hold))


if __name__ == "__main__":
    main()
