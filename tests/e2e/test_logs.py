"""tests/e2e/test_logs.py — where every process's log lines go (supervisor.log_target, docs/operations.md "Logs").

- stderr whose file is the one JOURNAL_STREAM names (systemd connected it to journald): `<N>` priority prefixes and
  no timestamp, from every process; JOURNAL_STREAM naming another file: today's format.
- syslog and journal received for real: the supervisor runs in a private mount namespace (`unshare -m`) where
  /dev/log, or /run/systemd/journal/socket, is a datagram socket this test listens on (bind mounts that exist
  only inside the namespace and vanish with its last process). What arrives is decoded — the syslog datagram
  `<PRI>TIMESTAMP clockwerk[PID]: [ROLE] LEVEL: TEXT`, the journal's native protocol (KEY=VALUE lines and the
  binary-safe KEY\\n<u64 length>VALUE\\n form) — and checked: priorities and facility, roles, the sender's pid
  (SCM_CREDENTIALS) against the process of that role, every process present, no timestamp of our own.
- a reload that changes log_target: the supervisor switches and every child is restarted onto the new target.
- a bad value is refused at its line.

Every test has its own directory and sockets and stops every process on every path.
"""

import contextlib
import os
import re
import socket
import struct
import subprocess
import threading

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, run_cli, tempdir, wait_for
from targets import Targets

STAMP_RX = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
LEVEL_PRIORITY = {"debug": 7, "info": 6, "warn": 4, "error": 3}
LOG_DAEMON = 3


# ------------------------------------------------------------------------------------------------ helpers

def _config(t, target=None):
    cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=2)
    if target:
        cfg["supervisor"]["log_target"] = target
    return cfg


def _roles(cw):
    """{role: pid} of the children running now ("worker 0/2": pid), with the supervisor's."""
    roles = {title[len("clockwerk: "):]: pid for pid, title in cw.children().items()
             if title.startswith("clockwerk: ")}
    roles["supervisor"] = cw.pid
    return roles


def _expected_roles():
    return {"supervisor", "worker 0/2", "worker 1/2", "storer", "alerter", "relay"}


class DatagramSink:
    """An AF_UNIX datagram socket at `path` that keeps what arrives, with the sender's pid (SO_PASSCRED)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.received = []  # (pid, bytes)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        creds_size = struct.calcsize("3i")
        while not self._stop.is_set():
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(65536, socket.CMSG_SPACE(creds_size))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds_size])[0]
            with self._lock:
                self.received.append((pid, data))

    def snapshot(self):
        with self._lock:
            return list(self.received)

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _ns_bin(d, setup):
    """A directory with a `clockwerk` that runs the real one in a private mount namespace after `setup` (shell).
    unshare without --fork and exec: the supervisor keeps the pid the harness started; the children, found next to
    the real binary (/proc/self/exe), inherit the namespace."""
    ns = os.path.join(d, "nsbin")
    os.makedirs(ns)
    wrapper = os.path.join(ns, "clockwerk")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec unshare -m --propagation private /bin/sh -ec '%s\nexec \"$0\" \"$@\"' %s \"$@\"\n"
                % (setup, harness.binary("clockwerk")))
    os.chmod(wrapper, 0o755)
    return ns


def _syslog_setup(d, sock_path):
    """/dev in the namespace: a copy holding the usual devices (bind mounts of the real ones) and `log`, our socket."""
    dev = os.path.join(d, "dev")
    os.makedirs(dev)
    lines = []
    for name in ("null", "zero", "full", "random", "urandom"):
        lines.append(": > %s/%s; mount --bind /dev/%s %s/%s" % (dev, name, name, dev, name))
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        lines.append("ln -s %s %s/%s" % (target, dev, name))
    lines.append("mkdir %s/shm && mount -t tmpfs -o mode=1777 cwlogs %s/shm" % (dev, dev))
    lines.append(": > %s/log; mount --bind %s %s/log" % (dev, sock_path, dev))
    lines.append("mount --rbind %s /dev" % dev)
    return "\n".join(lines)


def _journal_setup(jdir):
    """/run/systemd/journal in the namespace: our directory, holding `socket` (a tmpfs under it keeps the host's
    /run untouched)."""
    top = "/run/systemd" if os.path.isdir("/run/systemd") else "/run"
    return ("mount -t tmpfs -o mode=755 cwlogs %s\nmkdir -p /run/systemd/journal\n"
            "mount --bind %s /run/systemd/journal" % (top, jdir))


@contextlib.contextmanager
def _journal_sink(d):
    """(the sink listening at DIR/journal/socket, the namespace setup that makes it /run/systemd/journal/socket)."""
    jdir = os.path.join(d, "journal")
    os.makedirs(jdir)
    with DatagramSink(os.path.join(jdir, "socket")) as sink:
        yield sink, _journal_setup(jdir)


SYSLOG_RX = re.compile(r"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) clockwerk\[(\d+)\]: \[([^\]]+)\] (\w+): (.*)$",
                       re.S)


def parse_syslog(data):
    """(facility, severity, pid, role, level, text) of a datagram from syslog(3), or raises."""
    text = data.decode("utf-8", "replace")
    m = SYSLOG_RX.match(text)
    check(m, "not a clockwerk syslog datagram: %r" % text)
    pri = int(m.group(1))
    return pri >> 3, pri & 7, int(m.group(3)), m.group(4), m.group(5), m.group(6)


def parse_journal(data):
    """The fields of one native-protocol datagram: KEY=VALUE\\n, or KEY\\n + u64 little-endian length + VALUE + \\n
    (the binary-safe form, for values holding a newline). Raises on anything malformed."""
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            check(nl + 9 <= len(data), "binary field %r: truncated length" % key)
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            start = nl + 9
            check(start + n < len(data) and data[start + n:start + n + 1] == b"\n",
                  "binary field %r: length %d past the datagram or no newline after it" % (key, n))
            value = data[start:start + n]
            i = start + n + 1
        check(re.fullmatch(rb"[A-Z0-9_]+", key), "bad field name %r" % key)
        fields[key.decode()] = value.decode("utf-8", "replace")
    return fields


def _wait_every_role(cw, seen, what):
    """Waits until seen() (a set of (role, pid)) holds every expected role with the pid of its current process."""
    def complete():
        roles = _roles(cw)
        if set(roles) != _expected_roles():
            return None
        got = seen()
        missing = [r for r, pid in roles.items() if (r, pid) not in got]
        return roles if not missing else None
    return wait_for(complete, deadline(30), lambda: "%s from every process %s (have %s; running %s)" % (
        what, sorted(_expected_roles()), sorted(seen()), _roles(cw)))


def _stderr_lines(cw):
    return [ln for ln in cw.log_text().splitlines() if ln.strip()]


# ------------------------------------------------------------------------------------------------ stderr

LINE_JOURNALD_RX = re.compile(r"^<(?P<prio>[3467])>clockwerk\[(?P<role>[^\]]+)\] (?P<pid>\d+) "
                              r"(?P<level>debug|info|warn|error): ")
LINE_PLAIN_RX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z clockwerk\[(?P<role>[^\]]+)\] (?P<pid>\d+) "
                           r"(?P<level>debug|info|warn|error): ")


def _start_with_journal_stream(d, t, matching):
    cw = Clockwerk(_config(t), d)
    open(cw.log_path, "wb").close()  # start() appends to this very file: its inode is stderr's
    st = os.stat(cw.log_path)
    cw.env = {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino + (0 if matching else 1))}
    return cw


def _seen_on_stderr(cw, rx):
    seen = set()
    for ln in _stderr_lines(cw):
        m = rx.match(ln)
        if m:
            seen.add((m.group("role"), int(m.group("pid"))))
    return seen


def _run_until_every_role(cw, seen, what):
    """Starts cw, waits until seen() holds every process (see _wait_every_role), stops it."""
    with cw.start():
        cw.wait_ready()
        _wait_every_role(cw, seen, what)
        cw.stop()


def test_journal_stream_matching_stderr():
    """JOURNAL_STREAM = stderr's dev:ino: every line of every process is `<N>clockwerk[ROLE] PID LEVEL: ...` with N
    the level's priority, and none carries a timestamp (journald stamps them)."""
    with tempdir() as d, Targets() as t:
        cw = _start_with_journal_stream(d, t, matching=True)
        _run_until_every_role(cw, lambda: _seen_on_stderr(cw, LINE_JOURNALD_RX), "<N>-prefixed lines")
        lines = _stderr_lines(cw)
        check(lines, "no log lines")
        for ln in lines:
            m = LINE_JOURNALD_RX.match(ln)
            check(m, "a line without the journald priority prefix: %r" % ln)
            check(int(m.group("prio")) == LEVEL_PRIORITY[m.group("level")], "priority for the level: %r" % ln)
            check(not STAMP_RX.search(ln[:40]), "a timestamp in a line journald stamps itself: %r" % ln)
        harness.note("%d lines, all <N>-prefixed" % len(lines))


def test_journal_stream_of_another_file():
    """JOURNAL_STREAM naming another file (stderr redirected since systemd set it): today's format, timestamped."""
    with tempdir() as d, Targets() as t:
        cw = _start_with_journal_stream(d, t, matching=False)
        _run_until_every_role(cw, lambda: _seen_on_stderr(cw, LINE_PLAIN_RX), "timestamped lines")
        for ln in _stderr_lines(cw):
            check(LINE_PLAIN_RX.match(ln), "not today's format: %r" % ln)


# ------------------------------------------------------------------------------------------------ syslog

def test_syslog_target_received():
    """log_target = "syslog": every process's lines arrive on /dev/log as `<PRI>... clockwerk[PID]: [ROLE] LEVEL:
    TEXT`, facility daemon, severity = the level's, PID = the process of that role; no timestamp of ours in the
    text; stderr holds only what came before the configuration was read (and the line saying where logs go)."""
    with tempdir() as d, Targets() as t:
        sock_path = os.path.join(d, "syslog.sock")
        with DatagramSink(sock_path) as sink:
            cw = Clockwerk(_config(t, "syslog"), d, bin_dir=_ns_bin(d, _syslog_setup(d, sock_path)))
            with cw.start():
                cw.wait_ready()

                def seen():
                    return {(p[3], p[2]) for p in map(parse_syslog, (b for _pid, b in sink.snapshot()))}
                roles = _wait_every_role(cw, seen, "syslog datagrams")
                os.kill(roles["worker 1/2"], 9)  # the supervisor's warn line, and a new worker on syslog at once

                def warned():
                    return any(p[3] == "supervisor" and p[1] == 4 and "killed by signal 9" in p[5]
                               for p in map(parse_syslog, (b for _pid, b in sink.snapshot())))
                wait_for(warned, deadline(20), "the supervisor's warning (severity 4) about the killed worker")
                _wait_every_role(cw, seen, "syslog datagrams after the restart")
                cw.stop()
            got = sink.snapshot()
        for sender, data in got:
            facility, severity, pid, role, level, text = parse_syslog(data)
            check(facility == LOG_DAEMON, "facility %d, not daemon: %r" % (facility, data))
            check(severity == LEVEL_PRIORITY[level], "severity %d for level %s: %r" % (severity, level, data))
            check(pid == sender, "clockwerk[%d] sent by pid %s: %r" % (pid, sender, data))
            check(not STAMP_RX.search(text), "our own timestamp in a syslog message: %r" % data)
            check("\n" not in text and "\x1b" not in text, "a control character in %r" % data)
        check(any(parse_syslog(b)[3] == "supervisor" and "stopped" in parse_syslog(b)[5] for _p, b in got),
              "the supervisor's last line (stopped) did not reach syslog")
        lines = _stderr_lines(cw)
        check(any("logging to syslog from now on" in ln for ln in lines), "stderr does not say where logs go")
        for ln in lines:
            check("clockwerk[supervisor]" in ln, "a child's line on stderr with log_target syslog: %r" % ln)
        harness.note("%d syslog datagrams" % len(got))


def test_syslog_stale_socket_falls_back_to_stderr():
    """log_target = "syslog" where /dev/log is a stale socket (a socket file nobody reads: bound, then its receiving
    socket closed): syslog(3) would drop every line silently; the logger sees the refused send, says so once, and
    every process's lines stay on stderr."""
    with tempdir() as d, Targets() as t:
        sock_path = os.path.join(d, "syslog.sock")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        stale.bind(sock_path)
        stale.close()  # the file stays: connect() and send() to it are refused
        cw = Clockwerk(_config(t, "syslog"), d, bin_dir=_ns_bin(d, _syslog_setup(d, sock_path)))
        with cw.start():
            cw.wait_ready()
            cw.wait_log(r"warn: log_target syslog: cannot send to /dev/log: Connection refused; logging to stderr")
            cw.wait_log(r"clockwerk\[storer\] \d+ info: ")
            cw.wait_log(r"clockwerk\[worker 1/2\] \d+ info: ")
            cw.stop()


def test_syslog_daemon_gone_midway_falls_back_to_stderr():
    """log_target = "syslog", and the syslog daemon goes away while Clockwerk runs (its socket closed, the file
    left: every send refused): the next line goes to stderr with one warning per process, not lost."""
    with tempdir() as d, Targets() as t:
        sock_path = os.path.join(d, "syslog.sock")
        sink = DatagramSink(sock_path)
        try:
            cw = Clockwerk(_config(t, "syslog"), d, bin_dir=_ns_bin(d, _syslog_setup(d, sock_path)))
            with cw.start():
                cw.wait_ready()
                roles = _wait_every_role(cw, lambda: {(p[3], p[2]) for p in map(
                    parse_syslog, (b for _pid, b in sink.snapshot()))}, "syslog datagrams")
                sink.close()  # the namespace's /dev/log still names the socket: nobody reads it now
                os.kill(roles["worker 1/2"], 9)
                cw.wait_log(r"clockwerk\[supervisor\] \d+ warn: log_target syslog: cannot send to /dev/log: "
                            r"Connection refused; logging to stderr, retrying every 10 s")
                cw.wait_log(r"clockwerk\[supervisor\] \d+ warn: .*killed by signal 9")
                cw.stop()
        finally:
            sink.close()


# ------------------------------------------------------------------------------------------------ journal

def _journal_entries(sink):
    return [(sender, parse_journal(data)) for sender, data in sink.snapshot()]


def _journal_seen(sink):
    return {(f.get("CLOCKWERK_ROLE"), sender) for sender, f in _journal_entries(sink)}


def _check_journal_entry(sender, f):
    check(f.get("SYSLOG_IDENTIFIER") == "clockwerk", "SYSLOG_IDENTIFIER %r" % f)
    role, msg = f.get("CLOCKWERK_ROLE"), f.get("MESSAGE", "")
    m = re.match(r"^\[([^\]]+)\] (debug|info|warn|error): ", msg)
    check(m and m.group(1) == role, "MESSAGE does not start with [%s] LEVEL: %r" % (role, f))
    check(f.get("PRIORITY") == str(LEVEL_PRIORITY[m.group(2)]), "PRIORITY %r for %r" % (f.get("PRIORITY"), msg))
    check(not STAMP_RX.search(msg), "our own timestamp in MESSAGE: %r" % msg)
    check("\n" not in msg, "a newline in MESSAGE: %r" % msg)


def test_journal_target_received():
    """log_target = "journal": sd_journal_send datagrams with MESSAGE ("[ROLE] LEVEL: TEXT"), PRIORITY,
    SYSLOG_IDENTIFIER=clockwerk and CLOCKWERK_ROLE from every process (sender pid = that role's process); the
    decoder also reads libsystemd's binary-safe form, which a value with a newline takes."""
    with tempdir() as d, Targets() as t:
        with _journal_sink(d) as (sink, setup):
            cw = Clockwerk(_config(t, "journal"), d, bin_dir=_ns_bin(d, setup))
            _run_until_every_role(cw, lambda: _journal_seen(sink), "journal entries")
            entries = _journal_entries(sink)
            for sender, f in entries:
                _check_journal_entry(sender, f)
            harness.note("%d journal entries" % len(entries))
            # libsystemd itself, in the same namespace, with a newline in a value: the binary-safe form
            before = len(sink.snapshot())
            py = ("import ctypes; lib = ctypes.CDLL('libsystemd.so.0'); "
                  "rc = lib.sd_journal_send(b'MESSAGE=two\\nlines', b'CLOCKWERK_ROLE=probe', None); "
                  "raise SystemExit(0 if rc >= 0 else 1)")
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-ec",
                                setup + "\nexec /usr/bin/python3 -c \"$0\"", py], timeout=deadline(20))
            check(r.returncode == 0, "sd_journal_send from python failed (%s)" % r.returncode)
            wait_for(lambda: len(sink.snapshot()) > before, deadline(10), "libsystemd's datagram")
            raw = sink.snapshot()[-1][1]
            check(b"MESSAGE\n" in raw, "libsystemd did not use the binary-safe form: %r" % raw)
            check(parse_journal(raw).get("MESSAGE") == "two\nlines", "binary-safe MESSAGE decoded as %r" % raw)


def test_journal_target_absent_falls_back_to_stderr():
    """log_target = "journal" where there is no journal socket: one warning, and the lines stay on stderr."""
    if os.path.exists("/run/systemd/journal/socket"):
        harness.note("this machine has a journal: the fallback is not tested here")
        return
    with tempdir() as d, Targets() as t:
        with Clockwerk(_config(t, "journal"), d) as cw:
            cw.wait_ready()
            cw.wait_log(r"warn: log_target journal: /run/systemd/journal/socket is not a socket here; logging to "
                        r"stderr instead")
            cw.wait_log(r"clockwerk\[storer\] \d+ info: ")
            cw.stop()


# ------------------------------------------------------------------------------------------------ reload

def test_reload_switches_every_process():
    """stderr -> journal by SIGHUP: the supervisor says so on stderr and switches; every child is restarted (like a
    change of log_level) and its new process logs to the journal; none of the new processes writes stderr."""
    with tempdir() as d, Targets() as t:
        with _journal_sink(d) as (sink, setup):
            cw = Clockwerk(_config(t), d, bin_dir=_ns_bin(d, setup))
            with cw.start():
                cw.wait_ready()
                before = _roles(cw)
                check(not sink.snapshot(), "journal entries before the switch: %r" % sink.snapshot()[:3])
                mark = cw.log_mark()
                cw.reload(_config(t, "journal"))
                cw.wait_log(r"\[supervisor\] \d+ info: logging to journal from now on", since=mark)
                after = _wait_every_role(cw, lambda: _journal_seen(sink), "journal entries after the reload")
                for role in before:
                    if role != "supervisor":
                        check(after[role] != before[role], "%s was not restarted (pid %d)" % (role, before[role]))
                reloads = [f for _s, f in _journal_entries(sink) if f.get("CLOCKWERK_ROLE") == "supervisor" and
                           "reload:" in f.get("MESSAGE", "")]
                check(reloads, "the reload line did not reach the journal")
                new_pids = {str(p) for r, p in after.items() if r != "supervisor"}
                for ln in cw.log_since(mark).splitlines():
                    m = LINE_PLAIN_RX.match(ln)
                    check(not m or m.group("pid") not in new_pids, "a restarted child wrote stderr: %r" % ln)
                cw.stop()
            for sender, f in _journal_entries(sink):
                _check_journal_entry(sender, f)


# ------------------------------------------------------------------------------------------------ config

def test_bad_log_target_refused_at_its_line():
    with tempdir() as d:
        path = os.path.join(d, "c.conf")
        with open(path, "w") as f:
            f.write('supervisor = {\n  workers = 1;\n  log_target = "journald";\n};\n'
                    'monitor = { endpoints = ( { url = "http://127.0.0.1:9/"; } ); };\n')
        r = run_cli(["-t", "-c", path])
        check(r.code != 0, "accepted: %r" % r)
        check("c.conf:3: supervisor.log_target: unknown target 'journald' (stderr, syslog, journal)" in r.err,
              "no message at line 3: %r" % r)
