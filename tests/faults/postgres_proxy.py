"""A TCP proxy in front of PostgreSQL that can play a server that is restarting: it cuts every open
connection and, for as long as the test says, answers each new one the way PostgreSQL does while it
starts up (``FATAL 57P03 the database system is starting up``). A real restart shows that state only
for a moment, by chance; the proxy holds it long enough to be sure every client met it."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        code + value.encode() + b"\0"
        for code, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


class RestartingPostgres:
    """Forwards 127.0.0.1:``port`` to the server at 127.0.0.1:``upstream`` until told otherwise."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self.starting_up = False
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> RestartingPostgres:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def restart(self, seconds: float) -> None:
        """Cut every connection, then refuse new ones as "starting up" for ``seconds``."""
        self.starting_up = True
        self._cut()
        try:
            await asyncio.sleep(seconds)
        finally:
            self.starting_up = False

    def _cut(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.starting_up:
            await self._refuse(reader, writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )
        self._open.difference_update((writer, upstream_writer))

    async def _pipe(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                target.write(chunk)
                await target.drain()
        finally:
            target.transport.abort()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.refused += 1
        with contextlib.suppress(Exception):
            length, code = struct.unpack("!ii", await reader.readexactly(8))
            while code in (SSL_REQUEST, GSSENC_REQUEST):  # no encryption here: "N", then the startup packet
                writer.write(b"N")
                await writer.drain()
                length, code = struct.unpack("!ii", await reader.readexactly(8))
            await reader.readexactly(length - 8)
            writer.write(_error_response("57P03", "the database system is starting up"))
            await writer.drain()
        writer.transport.abort()


class ProxyThread:
    """:class:`RestartingPostgres` on an event loop of its own thread, so that it serves the services'
    connections whatever the test's own loop is doing (or when it is not running at all)."""

    def __init__(self, upstream: int) -> None:
        self.proxy = RestartingPostgres(upstream)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="postgres-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self.proxy.port

    def start(self) -> ProxyThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)
        return self

    async def restart(self, seconds: float) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.proxy.restart(seconds), self._loop))

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
