"""`tmweb serve --workers N` listens on a socket whose connections have Nagle's algorithm
off, whatever uvicorn version binds it (docs/decisions.md, issue 12: with it on, each
response whose body follows its headers waited ~40 ms for the client's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.config import Config

from tmweb.web.serve import _listen_with_nodelay, tcp_listener


def nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection that asyncio accepts on `listener`."""

    async def go() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(go())


def bound(proto: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_a_listener_bound_with_proto_0_loses_nodelay_and_tcp_listener_restores_it() -> None:
    # what uvicorn's bind_socket made before its fix: asyncio leaves Nagle on
    assert nodelay_of_accepted(bound(0)) == 0
    fixed = tcp_listener(bound(0))
    assert fixed.proto == socket.IPPROTO_TCP
    assert nodelay_of_accepted(fixed) != 0


def test_tcp_listener_keeps_the_socket_its_address_and_inheritability() -> None:
    sock = bound(0)
    sock.set_inheritable(True)
    address = sock.getsockname()
    fixed = tcp_listener(sock)
    assert fixed.getsockname() == address and fixed.get_inheritable()
    already = bound(socket.IPPROTO_TCP)
    assert tcp_listener(already) is already
    fixed.close()
    already.close()


def test_uvicorns_worker_socket_gets_nodelay_connections() -> None:
    _listen_with_nodelay()
    _listen_with_nodelay()  # twice is once
    sock = Config(app="tmweb.web.serve:app_from_env", host="127.0.0.1", port=0, workers=2).bind_socket()
    assert sock.proto == socket.IPPROTO_TCP
    assert nodelay_of_accepted(sock) != 0
