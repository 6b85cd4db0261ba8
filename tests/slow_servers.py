"""A raw loopback server for slow senders, shared by the fetch and serve fault tests.

Imported by test modules by name (``from slow_servers import Trickler``), like
``openrouter_standin``.
"""

from __future__ import annotations

import socket
import threading
import time


class Trickler:
    """A loopback server that sends ``head`` then one byte of ``drip`` every ``every`` seconds, until stopped.

    Bounded: it stops by itself after ``limit`` seconds whatever the client does.
    """

    def __init__(
        self, head: bytes, drip: bytes = b" ", every: float = 0.5, limit: float = 20.0, first: bytes | None = None
    ):
        self.head, self.drip, self.every, self.limit, self.first = head, drip, every, limit, first
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.stop = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _run(self):
        ends = time.monotonic() + self.limit
        while not self.stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._feed, args=(conn, ends), daemon=True).start()

    def _feed(self, conn, ends):
        try:
            conn.recv(65536)
            if self.first is not None and self.connections == 1:
                conn.sendall(self.first)
                return
            conn.sendall(self.head)
            while not self.stop.is_set() and time.monotonic() < ends:
                conn.sendall(self.drip)
                time.sleep(self.every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()
