"""bench/benchlib.py — the helpers every benchmark shares (bench/run.py, bench/scale_bench.py, bench/tcp_bench.py
and bench/web_bench.py through run.py): where the programs are, processes stopped on every path, /proc readers
(CPU, RSS, context switches, descendants), nginx with stub_status as the target, bench/delay_server, the floor
(bench/floor.c) and the workers' stats from the tap. Every wait is bounded in time."""
import os
import signal
import socket
import struct
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CLOCKWERK_BIN", os.path.join(ROOT, "bin"))
BENCH_BIN = os.environ.get("CLOCKWERK_BENCH_BIN", os.path.join(ROOT, "build", "default", "bench"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def cpu_seconds(pid):
    """utime+stime of one process, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def descendants(root):
    """pid -> title for every descendant of root (and root)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                out[p] = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        todo.extend(children.get(p, []))
    return out


class Procs:
    """Every process the benchmark starts, stopped on every path."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, timeout=10)


class Nginx:
    """nginx answering 200 "ok" to every path, access log off, stub_status at /nginx_status. addresses: the
    loopback addresses it listens on (one port on each: more addresses, more 4-tuples for the prober's
    ephemeral ports, bench/scale_bench.py)."""

    def __init__(self, procs, tmp, addresses=("127.0.0.1",), nofile=16384):
        self.port = free_port()
        self.addresses = tuple(addresses)
        self.status_calls = 0
        d = os.path.join(tmp, "nginx")
        os.makedirs(d)
        conf = os.path.join(d, "nginx.conf")
        listen = " ".join(f"listen {a}:{self.port} backlog=8192;" for a in self.addresses)
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
worker_rlimit_nofile {nofile + 1024}; events {{ worker_connections {nofile}; }}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;
  uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ {listen} location / {{ return 200 "ok"; }}
           location = /nginx_status {{ stub_status; }} }} }}
""")
        self.proc = procs.start(["nginx", "-c", conf, "-p", d], stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 20, "nginx to listen")
        self.url = f"http://127.0.0.1:{self.port}/"

    def requests(self):
        """nginx's own request counter (stub_status), the status requests themselves included."""
        self.status_calls += 1
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /nginx_status HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        line = data.decode().split("\r\n\r\n", 1)[1].splitlines()[2]
        return int(line.split()[2])

    def served(self):
        """Requests served to others than this class: stub_status's counter minus the status requests."""
        return self.requests() - self.status_calls


class DelayServer:
    def __init__(self, procs, delay_ms):
        self.port = free_port()
        self.proc = procs.start([os.path.join(BENCH_BIN, "delay_server"), str(self.port), str(delay_ms),
                                 "--seconds", "900"], stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("delay_server did not start")
        self.url = f"http://127.0.0.1:{self.port}/"


def parse_kv(line):
    return {k: float(v) for k, v in (t.split("=", 1) for t in line.split()[1:])}


def run_floor(url, checks):
    out = subprocess.run([os.path.join(BENCH_BIN, "floor"), url, "--inflight", "32", "--checks", str(checks),
                          "--seconds", "30"], capture_output=True, text=True, timeout=120)
    kv = parse_kv(out.stdout.strip().splitlines()[-1])
    return dict(name="floor (libcurl multi, K=32)", checks=kv["checks"], seconds=kv["seconds"],
                cpu=kv["cpu_user"] + kv["cpu_sys"])


class StatsListener:
    """Subscribes to the workers' stats (topic prefix "stats" only, so results are not published to us)."""

    def __init__(self, tap_address):
        import zmq
        self.zmq = zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"stats")
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(tap_address)
        self.samples = []

    def poll(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            if not self.sock.poll(int(left * 1000)):
                return
            frames = self.sock.recv_multipart()
            if len(frames) == 2:
                s = decode_stats(frames[1])
                if s:
                    s["t"] = time.monotonic()  # when it arrived (scale_bench: rates over time)
                    self.samples.append(s)

    def close(self):
        self.sock.close()
        self.ctx.term()


def decode_stats(p):
    """Decodes a stats payload as docs/protocol.md describes it; None when malformed."""
    try:
        version, typ, count = struct.unpack_from("<BBH", p, 0)
        if version != 1 or typ != 2:
            return None
        off = 4

        def string(off):
            (n,) = struct.unpack_from("<H", p, off)
            return p[off + 2:off + 2 + n].decode(), off + 3 + n
        role, off = string(off)
        wid, boot, at = struct.unpack_from("<IQq", p, off)
        off += 20
        items = {}
        for _ in range(count):
            k, off = string(off)
            (v,) = struct.unpack_from("<q", p, off)
            off += 8
            items[k] = v
        return dict(role=role, id=wid, boot=boot, items=items)
    except (struct.error, UnicodeDecodeError):
        return None


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]
