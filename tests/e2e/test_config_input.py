"""tests/e2e/test_config_input.py — the configuration file under hostile or mistaken input (issue 11), end to end.

- An `@include` of a FIFO: `clockwerk -t` answers at once (the FIFO is refused by name, nothing waits for a
  writer), and a running supervisor that gets SIGHUP with such an include logs the refusal, keeps running the
  old configuration and still stops on SIGTERM.
- A 50 MB string (libconfig's parser is quadratic on one string: minutes) and a file over the 64 MiB bound are
  refused within seconds, with the reason.
- Integers of 2^31 and more are read as written: `check_interval = 4294967306` is refused with its real value.
- The tap reads the bus only: with a running system whose tap address it shares, it prints results although its
  configuration has a broken alerts section and a typo in supervisor (as root), or an SMTP password file it
  may not read (as the unprivileged user `clockwerk-test`); a syntax error still stops it with FILE:LINE.
"""

import os
import re
import signal
import subprocess
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir
from test_security import ensure_user


def _write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _valid(d, name="c.conf"):
    path = os.path.join(d, name)
    harness.write_config(path, base_config([endpoint(harness.closed_port_url("/a"))], db=False))
    return path


def test_fifo_include_refused_by_t():
    with tempdir() as d:
        os.mkfifo(os.path.join(d, "pipe.conf"), 0o600)
        path = _valid(d)
        with open(path, "a") as f:
            f.write('@include "pipe.conf"\n')
        t0 = time.monotonic()
        res = harness.run_cli(["-t", "-c", path], timeout=15)   # before: blocked in fopen for good
        check(res.code == 1, "clockwerk -t with a FIFO include: %r" % res)
        check(re.search(r"c\.conf:\d+: include file '.*/pipe\.conf' is not a regular file \(a FIFO\)", res.err),
              "the message names the FIFO: %r" % res.err)
        check(time.monotonic() - t0 < deadline(5), "clockwerk -t took %.1f s" % (time.monotonic() - t0))
        # the config itself as a FIFO
        os.mkfifo(os.path.join(d, "itself.conf"), 0o600)
        res = harness.run_cli(["-t", "-c", os.path.join(d, "itself.conf")], timeout=15)
        check(res.code == 1 and "is not a regular file (a FIFO)" in res.err, "a FIFO as the config: %r" % res)


@harness.timeout(90)
def test_fifo_include_on_sighup():
    with tempdir() as d:
        os.mkfifo(os.path.join(d, "pipe.conf"), 0o600)
        cfg = base_config([endpoint(harness.closed_port_url("/a"))], db=False)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            mark = cw.log_mark()
            cw.reload(harness.render_config(cfg) + '@include "pipe.conf"\n')
            # before: the supervisor blocked in fopen of the FIFO (and then ignored SIGTERM)
            cw.wait_log(r"include file '.*/pipe\.conf' is not a regular file \(a FIFO\)", since=mark,
                        timeout=deadline(10))
            cw.wait_log(r"reload failed", since=mark, timeout=deadline(10))
            check(cw.running(), "the supervisor keeps running the old configuration")
            cw.stop(timeout=deadline(10))


def test_huge_inputs_refused_fast():
    with tempdir() as d:
        path = os.path.join(d, "big.conf")
        with open(path, "w") as f:
            f.write('monitor = { endpoints = ({ url = "http://127.0.0.1:1/"; method = "POST";\n  body = "')
            f.write("x" * (50 << 20))
            f.write('"; }); };\n')
        os.chmod(path, 0o600)
        t0 = time.monotonic()
        res = harness.run_cli(["-t", "-c", path], timeout=60)    # before: minutes in libconfig
        took = time.monotonic() - t0
        check(res.code == 1 and re.search(r"big\.conf:2: a string longer than 1048576 bytes", res.err),
              "a 50 MB string: %r" % res)
        check(took < deadline(5), "refusing a 50 MB string took %.1f s" % took)
        # over the bound in all: refused before reading
        huge = os.path.join(d, "huge.conf")
        with open(huge, "w") as f:
            f.truncate(65 << 20)
        main = _valid(d)
        with open(main, "a") as f:
            f.write('@include "huge.conf"\n')
        t0 = time.monotonic()
        res = harness.run_cli(["-t", "-c", main], timeout=60)
        check(res.code == 1 and "the configuration and its includes are more than 67108864 bytes" in res.err,
              "a 65 MiB include: %r" % res)
        check(time.monotonic() - t0 < deadline(5), "refusing a 65 MiB include took too long")


def test_big_integers_not_wrapped():
    with tempdir() as d:
        path = _valid(d)
        text = open(path).read().replace("check_interval = 1;", "check_interval = 4294967306;")
        check("4294967306" in text, "the test's config sets check_interval")
        _write(path, text)
        res = harness.run_cli(["-t", "-c", path])    # before: "config OK" (10 s)
        check(res.code == 1 and "monitor.check_interval: must be at most 86400 (got 4294967306)" in res.err,
              "check_interval = 4294967306: %r" % res)
        _write(path, text.replace("4294967306", "60").replace("workers = 2;", "workers = 4294967297;"))
        res = harness.run_cli(["-t", "-c", path])    # before: 1 worker
        check(res.code == 1 and "supervisor.workers: must be between 0 and 256 (got 4294967297)" in res.err,
              "workers = 4294967297: %r" % res)


def _tap_config(tap_address, extra):
    """A configuration for the tap: the system's tap address, and broken sections the tap does not need."""
    return harness.render_config({"bus": {"tap_address": tap_address}}) + extra


def _run_tap_as(conf, user=None, count=2):
    argv = [harness.binary("clockwerk-tap"), "-c", conf, "--json", "--count", str(count)]
    kw = {}
    if user is not None:
        kw = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    try:
        r = subprocess.run(argv, capture_output=True, text=True, env=harness.child_env(),
                           timeout=deadline(30), **kw)
    except subprocess.TimeoutExpired:
        raise harness.TestFailure("clockwerk-tap printed no %d results within 30 s" % count)
    harness.ARTIFACTS["clockwerk-tap -c %s" % conf] = r.stdout + r.stderr
    return r


@harness.timeout(120)
def test_tap_needs_only_the_bus():
    pw = ensure_user()
    with tempdir() as d:
        os.chmod(d, 0o711)
        tap_address = "tcp://127.0.0.1:%d" % harness.free_port()
        cfg = base_config([endpoint(harness.closed_port_url("/a"))], db=False, extra={"bus": {"tap_address": tap_address}})
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            # as root: a webhook that is not a URL (a reload refused it) and a typo in supervisor
            broken = os.path.join(d, "broken.conf")
            _write(broken, _tap_config(tap_address, 'alerts = { webhooks = ["ftp://nope"]; };\n'
                                                    'supervisor = { workers = 0; };\n'))
            r = _run_tap_as(broken)
            check(r.returncode == 0 and r.stdout.count('"type":"result"') == 2,
                  "the tap with a broken alerts section: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
            check(re.search(r"warning: .*broken\.conf:\d+: alerts\.webhooks", r.stderr),
                  "the tap warns about what it ignores: %r" % r.stderr)
            # as clockwerk-test: an SMTP password file only root may read
            _write(os.path.join(d, "smtp.pw"), "secret\n", 0o600)
            mine = os.path.join(d, "user.conf")
            _write(mine, _tap_config(tap_address, 'email = { smtp_host = "127.0.0.1"; email_from = "a@b.example";\n'
                                                  '  email_to = "c@d.example"; smtp_user = "u";\n'
                                                  '  smtp_password_file = "smtp.pw"; };\n'), 0o644)
            r = _run_tap_as(mine, user=pw)
            check(r.returncode == 0 and r.stdout.count('"type":"result"') == 2,
                  "the tap as %s with an unreadable password file: exit %d\n%s%s"
                  % (pw.pw_name, r.returncode, r.stdout, r.stderr))
            # a syntax error still stops it, with FILE:LINE
            bad = os.path.join(d, "syntax.conf")
            _write(bad, _tap_config(tap_address, "alerts = { renotify = ;\n"))
            r = _run_tap_as(bad)
            check(r.returncode == 1 and re.search(r"syntax\.conf:\d+: syntax error", r.stderr),
                  "the tap on a syntax error: exit %d, %r" % (r.returncode, r.stderr))
            cw.stop()


def test_supervisor_logs_warnings_and_counts_in_the_singular():
    """The running supervisor says what `-t` says: the warning (level warn) that a configuration neither stores nor alerts, at
    start and at a reload, and "1 endpoint, 1 worker" (fails before: no warning, "1 endpoints, 1 workers")."""
    with tempdir() as d:
        cfg = base_config([endpoint(harness.closed_port_url("/a"))], workers=1, db=False)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_log(r"running: 1 endpoint, 1 worker,", timeout=deadline(10))
            cw.wait_log(r"warn: .*neither stores nor alerts", timeout=deadline(10))
            mark = cw.log_mark()
            cfg["monitor"]["endpoints"].append(endpoint(harness.closed_port_url("/b")))
            cw.reload(cfg)
            cw.wait_log(r"warn: .*neither stores nor alerts", since=mark, timeout=deadline(10))
            cw.wait_log(r"reload: 2 endpoints \(\+1\), 1 worker,", since=mark, timeout=deadline(10))
            check(not re.search(r"\b1 (endpoints|workers)\b", cw.log_text()), "a plural after 1 in the log")
            cw.stop()
