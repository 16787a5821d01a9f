"""Shutting down without dropping a request: uvicorn's HTTP protocol with a drain phase.

On SIGTERM uvicorn stops accepting and then closes every idle keep-alive connection at once.
A client that had just sent its next request on such a connection gets a reset: the request
reached the server and was never answered. Here an idle connection is not closed at once: for
``DRAIN_S`` seconds the next request on it is still read and answered, with
``Connection: close``, and the connection closes after that answer. Connections still idle
when the drain ends are closed; a request in the middle of being read is never cut off.

A client that opens a new connection after the listener closed is refused before anything is
read, which it can tell apart and retry elsewhere. Connections the kernel completed but no
one accepted yet would be reset, requests and all, when the listener closes:
``DrainingServer`` accepts every one waiting before it closes the listener, and serves them
as drained connections. What remains is the race HTTP/1.1 itself has: a request sent on an
idle connection at the very moment the drain ends.

The protocol is a class, not a string, so it travels to ``--workers`` processes in uvicorn's
config the same way. With several workers the supervisor holds the listening socket too, and
uvicorn's closes it only when it exits: until then the kernel keeps completing connections
that no worker will accept, and resets them, requests and all, at the end.
``ListenerFirstSupervisor`` lets go of its copy before it tells the workers to stop, and
runs each worker as a ``DrainingServer``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import multiprocess

DRAIN_S = 1.0


class DrainingHttpProtocol(HttpToolsProtocol):
    """httptools' protocol whose ``shutdown`` drains an idle connection instead of cutting it."""

    draining = False
    reading = False  # a request's first bytes arrived and its answer is not complete yet

    def on_message_begin(self) -> None:
        self.reading = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with Connection: close, then closed

    def on_response_complete(self) -> None:
        self.reading = False
        super().on_response_complete()

    def shutdown(self) -> None:
        self.draining = True
        busy = self._busy()
        if busy:
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.keep_alive = False
            return  # closes itself after this answer (a request still arriving: after its)
        self.loop.call_later(DRAIN_S, self._end_drain)

    def _busy(self) -> bool:
        answering = self.cycle is not None and not self.cycle.response_complete
        return self.reading or answering or bool(self.pipeline)

    def _end_drain(self) -> None:
        if self.transport.is_closing() or self._busy():
            return  # closed already, or a request began: it closes after its answer
        self.transport.close()


class DrainingServer(uvicorn.Server):
    """uvicorn's server that takes the connections waiting in the kernel before it closes the
    listener, so none is reset unanswered."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        waiting = []
        for server in self.servers:
            for listener in server.sockets:
                waiting += _accept_waiting(listener.fileno())
            server.close()  # at once: nothing queues behind the connections just taken
        for sock in sockets or []:
            sock.close()
        loop = asyncio.get_running_loop()
        for conn in waiting:
            await loop.connect_accepted_socket(self._protocol, sock=conn, ssl=self.config.ssl)
        await super().shutdown(sockets)

    def _protocol(self) -> asyncio.Protocol:
        made: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return made


def _accept_waiting(fileno: int) -> list[socket.socket]:
    listener = socket.socket(fileno=os.dup(fileno))
    listener.setblocking(False)
    taken: list[socket.socket] = []
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return taken
            conn.setblocking(False)
            taken.append(conn)
    finally:
        listener.close()


class DrainingWorker(multiprocess.Process):
    """A worker process of uvicorn's supervisor that runs a ``DrainingServer``: the class
    travels to the new process by name, and the server is made there."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = DrainingServer(config=self.config)
        return self._server


class ListenerFirstSupervisor(multiprocess.Multiprocess):
    """uvicorn's worker supervisor, which closes its copy of the listening socket first and
    runs each worker as a ``DrainingServer``."""

    def run(self, *args: Any, **kwargs: Any) -> None:
        plain = multiprocess.Process
        multiprocess.Process = DrainingWorker  # type: ignore[misc]  # (started by this name)
        try:
            super().run(*args, **kwargs)
        finally:
            multiprocess.Process = plain  # type: ignore[misc]

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()  # the workers' copies close as their shutdown begins
        super().terminate_all()
