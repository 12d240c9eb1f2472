#!/usr/bin/python3
"""tools/demo-target.py — the small HTTP target that `make run` (tools/run-demo.sh) checks.

Listens on 127.0.0.1 only and answers:
  /         200 "ok"
  /health   200 "healthy" (the sample config checks this keyword)
  /broken   500 "broken"
  /slow     200 "ok", after 1.5 s
  other     404
It refuses to run quietly on a busy port: when it cannot listen it says why and exits 1. With --closed PORT
it also warns when something does listen on the port the demo expects to be closed. With --ready FILE it
writes "ready" there once it listens, so the caller can wait for it without a fixed sleep.
SIGTERM stops it; SIGINT is left to the caller (run-demo.sh stops it on exit).
"""
import argparse
import http.server
import signal
import socket
import sys
import time

ROUTES = {
    "/": (200, b"ok\n", 0.0),
    "/health": (200, b"healthy\n", 0.0),
    "/broken": (500, b"broken\n", 0.0),
    "/slow": (200, b"ok\n", 1.5),
}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "clockwerk-demo/1"

    def _answer(self, with_body):
        status, body, delay = ROUTES.get(self.path.split("?", 1)[0], (404, b"not found\n", 0.0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        self._answer(True)

    def log_message(self, fmt, *args):  # the checks show up in clockwerk's own output
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def port_is_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--closed", type=int, default=None, help="port that should have no listener")
    ap.add_argument("--ready", default=None, help="file to write once listening")
    args = ap.parse_args()

    try:
        server = Server(("127.0.0.1", args.port), Handler)
    except OSError as e:
        print(f"demo target: cannot listen on 127.0.0.1:{args.port}: {e.strerror}. "
              f"Free the port (see: ss -ltnp 'sport = :{args.port}') or change the port in "
              f"tools/run-demo.sh and etc/clockwerk.conf.", file=sys.stderr)
        return 1
    if args.closed is not None and port_is_open(args.closed):
        print(f"demo target: warning: something listens on 127.0.0.1:{args.closed}; the 'closed port' "
              f"endpoint of the demo will not show as down", file=sys.stderr)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
