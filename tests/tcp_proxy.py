"""A loopback TCP proxy that can cut the database under a running app (tests only).

The app under test is pointed at the proxy instead of at PostgreSQL. The proxy then plays the
parts of a database outage without touching the real server, which other tests share:

* :meth:`TcpProxy.kill_connections` drops every open connection abruptly (TCP reset), as when
  the server process dies or the network between app and database breaks;
* :meth:`TcpProxy.refuse` stops listening, so new connections are refused, as while the server
  is down;
* :meth:`TcpProxy.starting_up` answers new connections like a PostgreSQL server that is starting
  up or shutting down: ``FATAL 57P03 the database system is starting up``;
* :meth:`TcpProxy.hang_up` reads a new connection's startup packet and closes it unanswered, as
  when the server goes away while the app is still connecting;
* :meth:`TcpProxy.blackhole` accepts connections and never answers, as when packets are dropped;
* :meth:`TcpProxy.restore` forwards again.

It only ever listens on and connects to the loopback interface.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Literal

Mode = Literal["up", "refuse", "starting", "hangup", "blackhole"]

LOOPBACK = "127.0.0.1"
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CHUNK = 64 * 1024


def postgres_fatal(sqlstate: str, message: str) -> bytes:
    """A PostgreSQL ``ErrorResponse`` message with severity FATAL."""
    fields = b"".join(
        code + value.encode() + b"\0"
        for code, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    payload = fields + b"\0"
    return b"E" + struct.pack("!I", len(payload) + 4) + payload


STARTING_UP = postgres_fatal("57P03", "the database system is starting up")


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream_port>`` until told otherwise.

    ``delay`` (seconds) holds back every chunk the database sends, so that queries are still in
    flight when a test cuts the connection.
    """

    def __init__(self, upstream_port: int, upstream_host: str = LOOPBACK) -> None:
        if upstream_host not in (LOOPBACK, "localhost"):
            raise ValueError("the test proxy only ever connects to the loopback interface")
        self.upstream = (LOOPBACK, upstream_port)
        self.port = 0
        self.mode: Mode = "up"
        self.delay = 0.0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._upstream_ports: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> TcpProxy:
        await self._listen()
        return self

    @property
    def upstream_ports(self) -> set[int]:
        """Local ports of the proxy's live connections to the database (its ``client_port``)."""
        return set(self._upstream_ports)

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._accept, sock=sock)

    def _unlisten(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def kill_connections(self) -> int:
        """Reset every open connection, both sides; return how many sockets were cut."""
        cut = len(self._transports)
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        return cut

    async def refuse(self) -> None:
        """Stop listening: new connections get ``ECONNREFUSED``. Open ones are left alone."""
        self.mode = "refuse"
        self._unlisten()

    async def starting_up(self) -> None:
        """Accept, then answer like PostgreSQL while it starts (``FATAL 57P03``)."""
        self.mode = "starting"
        if self._server is None:
            await self._listen()

    async def hang_up(self) -> None:
        """Accept, read the startup packet, then close without a word."""
        self.mode = "hangup"
        if self._server is None:
            await self._listen()

    async def blackhole(self) -> None:
        """Accept, then never answer."""
        self.mode = "blackhole"
        if self._server is None:
            await self._listen()

    async def restore(self) -> None:
        """Forward to the database again (connections held in a black hole are reset)."""
        if self.mode == "blackhole":
            self.kill_connections()
        self.mode = "up"
        if self._server is None:
            await self._listen()

    async def close(self) -> None:
        self._unlisten()
        self.kill_connections()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._transports.add(writer.transport)
        try:
            if self.mode == "up":
                await self._forward(reader, writer)
            elif self.mode in ("starting", "hangup"):
                await _read_startup_packet(reader, writer)
                if self.mode == "starting":
                    writer.write(STARTING_UP)
                    await writer.drain()
                writer.close()
            elif self.mode == "blackhole":
                await reader.read()  # until the client gives up or the proxy resets it
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._transports.discard(writer.transport)
            if not writer.transport.is_closing():
                writer.transport.abort()
            self._tasks.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            return
        port = up_writer.get_extra_info("sockname")[1]
        self._transports.add(up_writer.transport)
        self._upstream_ports.add(port)
        try:
            await asyncio.gather(
                _pipe(reader, up_writer, lambda: 0.0),
                _pipe(up_reader, writer, lambda: self.delay),
            )
        finally:
            self._upstream_ports.discard(port)
            self._transports.discard(up_writer.transport)
            if not up_writer.transport.is_closing():
                up_writer.transport.abort()


async def _read_startup_packet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for _ in range(3):  # an SSL and a GSS encryption request may precede the startup packet
        length, code = struct.unpack("!II", await reader.readexactly(8))
        await reader.readexactly(max(length - 8, 0))
        if code not in (_SSL_REQUEST, _GSSENC_REQUEST):
            return
        writer.write(b"N")  # no encryption; the client sends its startup packet next


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: Callable[[], float]
) -> None:
    """Copy until end of stream, then close the other side the same way: gracefully after a
    clean end (so a server's last words, such as a FATAL message, are delivered), abruptly
    after an error."""
    try:
        while data := await reader.read(_CHUNK):
            if pause := delay():
                await asyncio.sleep(pause)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        writer.transport.abort()
    else:
        writer.close()
