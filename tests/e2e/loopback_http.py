"""tests/e2e/loopback_http.py — the part every local HTTP server of the end-to-end tests shares
(targets.py, webhook_receiver.py): a ThreadingHTTPServer on 127.0.0.1 on a port the kernel picks, served
in a background thread.

    class Thing(BackgroundHTTPServer):
        handler = MyHandler               # a BaseHTTPRequestHandler; it reaches Thing as self.server.owner
    with Thing() as t: ... t.port ...     # start() / stop(), stop() on every path

stop() sets `_stopping` (an Event that handlers sleeping on purpose wait on, so they wake), then shuts the
server down and closes its socket. `_lock` is for the subclass's own records.
"""

import threading
from http.server import ThreadingHTTPServer


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer on 127.0.0.1:0; `owner` is the BackgroundHTTPServer that runs it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner, handler):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request, client_address):
        pass  # a client that went away (a check that timed out) is not an error of the server


class BackgroundHTTPServer:
    """Runs a server_class(self, handler) in a daemon thread, named THREAD_NAME-PORT when thread_name is set."""

    handler = None
    server_class = LoopbackHTTPServer
    thread_name = None

    def __init__(self):
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    def start(self):
        self._server = self.server_class(self, self.handler)
        self.port = self._server.server_address[1]
        name = "%s-%d" % (self.thread_name, self.port) if self.thread_name else None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
