"""tests/e2e/test_config_cli.py — the command line of bin/clockwerk around the configuration:
`clockwerk -t -c FILE` (validate: `config OK: N endpoints, W workers`, or exit 1 with every problem as
`FILE:LINE: message`), `clockwerk -c BROKEN` refusing to start, and `clockwerk --version`.

Each broken file differs from a valid one by one defect on a line marked `#!`; the test expects that
line number in the message (lines are counted from 1, as libconfig does).
"""

import os
import re

import harness
from harness import check, run_cli, tempdir

VALID = """# a valid configuration
supervisor = { workers = 2; run_dir = "run"; log_level = "info"; };
monitor = {
  check_interval = 10;
  latency_threshold = 1.5;
  endpoints = (
    { url = "http://127.0.0.1:1/a"; timeout = 2; alert_threshold = 3; },
    { url = "http://127.0.0.1:1/b"; timeout = 2.5; alert_threshold = 2; name = "billing"; }
  );
};
database = { db_activation = false; db_driver = "sqlite"; db_name = "x.db"; };
"""

# The example configuration, pointed at 127.0.0.1 (numbers written as integers and as decimals).
ISSUE_EXAMPLE = """supervisor = { workers = 4; run_dir = "run"; log_level = "info"; };
monitor = {
  check_interval = 60;       # seconds between checks of an endpoint (default 60)
  latency_threshold = 1.5;   # seconds; a check slower than this is "slow" (default 1.0)
  endpoints = (
    { url = "https://127.0.0.1:8443/health"; timeout = 2; alert_threshold = 3; },
    { url = "http://127.0.0.1:8080/"; timeout = 2.5; alert_threshold = 2; name = "billing";
      method = "GET"; expect_status = [200, 204]; check_interval = 10; latency_threshold = 0.5;
      verify_tls = true; follow_redirects = true; keyword = "ok"; headers = ["Authorization: Bearer abc"]; }
  );
};
email = { smtp_host = "127.0.0.1"; smtp_port = 587; email_from = "a@b.example"; email_to = "c@d.example"; };
database = { db_activation = true; db_driver = "sqlite"; db_name = "clockwerk.db";
             db_user = "root"; db_password = "e2e-secret-db"; db_host = "localhost"; db_port = 3306; };
"""


def _write(d, name, text):
    path = os.path.join(d, name)
    harness.write_config(path, text)
    return path


def _problem_lines(text, path):
    """[(line number, message)] of every `FILE:LINE: message` in text (FILE: the path or its basename)."""
    rx = re.compile(r"(?:^|[\s:])(?:\S*/)?%s:(\d+): (\S.*)$" % re.escape(os.path.basename(path)), re.M)
    return [(int(m.group(1)), m.group(2)) for m in rx.finditer(text)]


def _marked_line(text):
    for i, ln in enumerate(text.split("\n"), 1):
        if "#!" in ln:
            return i
    raise AssertionError("test bug: no #! marker")


def _expect_invalid(d, name, text, what, message_rx=None):
    """-t on the file: exit 1 and a FILE:LINE message at the marked line."""
    path = _write(d, name + ".conf", text)
    res = run_cli(["-t", "-c", path])
    check(res.code == 1, "%s: `clockwerk -t` exited %s, expected 1\n%s" % (what, res.code, res.text[-800:]))
    problems = _problem_lines(res.text, path)
    line = _marked_line(text)
    check(problems, "%s: no `FILE:LINE: message` in the output: %r" % (what, res.text[-800:]))
    at = [m for n, m in problems if n == line]
    check(at, "%s: expected a problem reported at line %d, got %s" % (what, line, problems))
    if message_rx:
        check(any(re.search(message_rx, m, re.I) for m in at),
              "%s: the message at line %d (%s) does not match /%s/" % (what, line, at, message_rx))
    return res


def _ep(extra, url="http://127.0.0.1:1/c"):
    """VALID with a third endpoint line carrying the defect (marked)."""
    line = '    { url = "%s"; %s }, #!\n' % (url, extra) if url else '    { %s }, #!\n' % extra
    return VALID.replace('    { url = "http://127.0.0.1:1/a"', line + '    { url = "http://127.0.0.1:1/a"', 1)


def test_valid_config():
    with tempdir() as d:
        path = _write(d, "valid.conf", VALID)
        res = run_cli(["-t", "-c", path])
        check(res.code == 0, "`clockwerk -t` on a valid file: %r" % res)
        check("config OK: 2 endpoints, 2 workers" in res.text,
              "expected 'config OK: 2 endpoints, 2 workers', got %r" % res.text)
        run_dir = os.path.join(d, "run")
        left = os.listdir(run_dir) if os.path.isdir(run_dir) else []
        check(not left, "`clockwerk -t` left files in run_dir: %s" % left)


def test_issue_example_validates():
    with tempdir() as d:
        path = _write(d, "example.conf", ISSUE_EXAMPLE)
        res = run_cli(["-t", "-c", path])
        check(res.code == 0, "the issue's example configuration does not validate: %r" % res)
        check("config OK: 2 endpoints, 4 workers" in res.text, "summary: %r" % res.text)
        check("e2e-secret-db" not in res.text, "the database password appears in the output: %r" % res.text)


def test_default_workers_is_cpu_count():
    with tempdir() as d:
        text = VALID.replace("workers = 2; ", "")
        path = _write(d, "noworkers.conf", text)
        res = run_cli(["-t", "-c", path])
        check(res.code == 0, "%r" % res)
        n = os.cpu_count()
        check("config OK: 2 endpoints, %d workers" % n in res.text,
              "supervisor.workers should default to the %d CPUs: %r" % (n, res.text))


def test_db_driver_spellings():
    with tempdir() as d:
        for drv in ("sqlite", "SQLite", "postgresql", "PostgreSQL", "postgres", "mysql", "MySQL", "mariadb"):
            text = VALID.replace('db_activation = false; db_driver = "sqlite"',
                                 'db_activation = true; db_driver = "%s"' % drv)
            path = _write(d, "drv.conf", text)
            res = run_cli(["-t", "-c", path])
            check(res.code == 0, "db_driver = %r rejected: %r" % (drv, res))
        text = VALID.replace('db_driver = "sqlite";', 'db_driver = "oracle"; #!\n', 1)
        _expect_invalid(d, "oracle", text, "db_driver oracle", r"driver|oracle")


def test_invalid_wrong_type():
    with tempdir() as d:
        _expect_invalid(d, "type1", _ep('timeout = "soon";'), "timeout as a string")
        text = VALID.replace("supervisor = { workers = 2;", 'supervisor = { workers = "two"; #!\n', 1)
        _expect_invalid(d, "type2", text, "workers as a string")
        _expect_invalid(d, "type3", _ep('verify_tls = "yes";'), "verify_tls as a string")


def test_invalid_out_of_range():
    with tempdir() as d:
        _expect_invalid(d, "range1", _ep("timeout = -1;"), "negative timeout")
        text = VALID.replace("supervisor = { workers = 2;", "supervisor = { workers = 0; #!\n", 1)
        _expect_invalid(d, "range2", text, "workers = 0")
        _expect_invalid(d, "range3", _ep("expect_status = [200, 999];"), "expect_status 999")
        _expect_invalid(d, "range4", _ep("alert_threshold = 0;"), "alert_threshold 0")


def test_invalid_unknown_key():
    with tempdir() as d:
        _expect_invalid(d, "key1", _ep("timout = 1;"), "unknown endpoint key", r"timout|unknown")
        text = VALID.replace("supervisor = { workers = 2;", 'supervisor = { workers = 2; colour = "blue"; #!\n', 1)
        _expect_invalid(d, "key2", text, "unknown supervisor key", r"colour|unknown")


def test_invalid_url():
    with tempdir() as d:
        _expect_invalid(d, "scheme", _ep("timeout = 1;", url="ftp://127.0.0.1/x"), "ftp URL", r"scheme|http|url")
        _expect_invalid(d, "nourl", _ep('timeout = 1; name = "no url";', url=None), "missing url", r"url")
        dup = VALID.replace('{ url = "http://127.0.0.1:1/b"; timeout = 2.5;',
                            '{ url = "http://127.0.0.1:1/a"; timeout = 2.5; #!\n', 1)
        _expect_invalid(d, "dup", dup, "duplicate url", r"duplicate|already|twice")
        _expect_invalid(d, "garbage", _ep("timeout = 1;", url="not a url"), "not an URL")


def test_invalid_keyword_with_head():
    with tempdir() as d:
        _expect_invalid(d, "head", _ep('method = "HEAD"; keyword = "ok";'), "keyword with HEAD",
                        r"keyword|HEAD")
        _expect_invalid(d, "method", _ep('method = "TRACE";'), "method TRACE", r"method|TRACE")


def test_invalid_syntax():
    with tempdir() as d:
        text = VALID.replace("  check_interval = 10;\n", "  check_interval = ; #!\n", 1)
        # (libconfig's ';' after a setting is optional: a missing one is no error.) A value is missing;
        # the error is noticed at the ';', on the marked line (or the next token, the line after).
        path = _write(d, "syntax.conf", text)
        res = run_cli(["-t", "-c", path])
        check(res.code == 1, "syntax error: exit %s, expected 1: %r" % (res.code, res.text))
        problems = _problem_lines(res.text, path)
        line = _marked_line(text)
        check(any(n in (line, line + 1) for n, _ in problems),
              "syntax error after line %d: reported %s (%r)" % (line, problems, res.text[-500:]))
        text = VALID.replace("  check_interval = 10;\n", "  check_interval = = 10; #!\n", 1)
        _expect_invalid(d, "syntax2", text, "doubled '='")


def test_every_problem_reported():
    """Three independent problems on three lines: all three reported, each with its line."""
    with tempdir() as d:
        text = VALID.replace("supervisor = { workers = 2;", 'supervisor = { workers = "x";\n', 1)
        text = text.replace('{ url = "http://127.0.0.1:1/a"; timeout = 2;', '{ url = "gopher://a"; timeout = 2;', 1)
        text = text.replace('{ url = "http://127.0.0.1:1/b"; timeout = 2.5;',
                            '{ url = "http://127.0.0.1:1/b"; method = "HEAD"; keyword = "k"; timeout = 2.5;', 1)
        lines = text.split("\n")
        want = {i for i, ln in enumerate(lines, 1) if '"x"' in ln or "gopher" in ln or "HEAD" in ln}
        path = _write(d, "many.conf", text)
        res = run_cli(["-t", "-c", path])
        check(res.code == 1, "exit %s, expected 1: %r" % (res.code, res.text))
        got = {n for n, _ in _problem_lines(res.text, path)}
        check(want <= got, "problems at lines %s expected, reported at %s: %r" % (sorted(want), sorted(got),
                                                                                 res.text[-800:]))


def test_check_output_format():
    """With -t, each problem is a line that starts with FILE:LINE: (no log prefix), on stdout or stderr."""
    with tempdir() as d:
        path = _write(d, "fmt.conf", _ep('timeout = "soon";'))
        res = run_cli(["-t", "-c", path])
        check(res.code == 1, "%r" % res)
        rx = re.compile(r"^%s:\d+: \S" % re.escape(path))
        lines = [ln for ln in res.text.split("\n") if ln.strip()]
        check(any(rx.match(ln) for ln in lines), "no line starts with %s:LINE: in %r" % (path, lines))


def test_password_never_printed():
    with tempdir() as d:
        text = VALID.replace('db_name = "x.db";', 'db_name = "x.db"; db_password = "e2e-secret-db";', 1)
        text = text.replace('"http://127.0.0.1:1/a"', '"http://alice:e2e-secret-url@127.0.0.1:1/a"', 1)
        text = text.replace('{ url = "http://alice', '{ method = "HEAD"; keyword = "k"; url = "http://alice', 1)
        path = _write(d, "secret.conf", text)
        res = run_cli(["-t", "-c", path], env={"CLOCKWERK_DB_PASSWORD": "e2e-secret-env"})
        check(res.code == 1, "expected the keyword/HEAD problem to be reported: %r" % res)
        for secret in ("e2e-secret-db", "e2e-secret-url", "e2e-secret-env"):
            check(secret not in res.text, "a password (%s) appears in the output: %r" % (secret, res.text))


def test_missing_file():
    with tempdir() as d:
        path = os.path.join(d, "nope.conf")
        res = run_cli(["-t", "-c", path])
        check(res.code == 1, "-t on a missing file: exit %s: %r" % (res.code, res.text))
        check("nope.conf" in res.text, "the message does not name the file: %r" % res.text)


def test_start_refused_on_broken_config():
    """`clockwerk -c BROKEN` does not start: exit 1 with the same FILE:LINE messages, no child spawned."""
    with tempdir() as d:
        text = _ep('method = "HEAD"; keyword = "ok";')
        path = _write(d, "broken.conf", text)
        res = run_cli(["-c", path], timeout=20)
        check(res.code == 1, "`clockwerk -c broken.conf` exited %s, expected 1: %r" % (res.code, res.text[-800:]))
        check(any(n == _marked_line(text) for n, _ in _problem_lines(res.text, path)),
              "no FILE:LINE message for the broken line: %r" % res.text[-800:])


def test_version():
    res = run_cli(["--version"])
    check(res.code == 0, "--version: %r" % res)
    check(re.search(r"\d+\.\d+\.\d+", res.text), "--version printed no version: %r" % res.text)


def test_bad_usage():
    res = run_cli(["--no-such-option"])
    check(res.code != 0, "an unknown option was accepted: %r" % res)
    check(res.text.strip(), "an unknown option: exit %s but no message" % res.code)


def test_make_alone_builds_every_program():
    """README: `make` alone builds every program into bin/. The default goal must be `all`, not the first
    rule the Makefile happens to define (a library rule made by a template). A dry run with every target
    considered out of date (-B) lists what `make` alone would do."""
    import subprocess
    # Run as `make` alone from a shell would be: without what an enclosing make passes down (its flags, and
    # its command-line variables, which reach the environment: `make BUILD=asan e2e` exports BUILD).
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD", "OUT", "BIN")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    out = subprocess.run(["make", "-n", "-B", "-C", harness.REPO], capture_output=True, text=True, timeout=60,
                         env=env)
    check(out.returncode == 0, "make -n -B failed: %s" % out.stderr[-500:])
    for prog in ("clockwerk", "clockwerk-worker", "clockwerk-storer", "clockwerk-alerter", "clockwerk-tap",
                 "clockwerk-relay"):
        check(re.search(r"-o bin/%s(\s|$)" % re.escape(prog), out.stdout, re.M),
              "`make` alone does not build bin/%s; it would run:\n%s" % (prog, out.stdout[-800:]))


def test_removed_source_leaves_its_archive():
    """A source file removed from a program's folder leaves that folder's archive at the next `make` (make
    cannot see a prerequisite that went away; a stale member then clashes at link time with the code that
    replaced it — seen when worker/lathist.c moved to common/). Fails before: the archive still held the
    member. Runs in a copy of the tree, building one archive only."""
    import shutil
    import subprocess
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD", "OUT", "BIN")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    with tempdir() as d:
        tree = os.path.join(d, "tree")
        os.makedirs(tree)
        for name in ("Makefile", "common", "worker"):
            src = os.path.join(harness.REPO, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, os.path.join(tree, name))
        lib = "build/default/libworker.a"

        def build_and_list():
            out = subprocess.run(["make", "-C", tree, lib], capture_output=True, text=True,
                                 timeout=harness.deadline(300), env=env)
            check(out.returncode == 0, "make %s failed: %s" % (lib, out.stderr[-800:]))
            members = subprocess.run(["ar", "t", os.path.join(tree, lib)], capture_output=True, text=True,
                                     check=True).stdout.split()
            return members
        check("alive.o" in build_and_list(), "test bug: alive.o is not in the first archive")
        os.unlink(os.path.join(tree, "worker", "alive.c"))
        members = build_and_list()
        check("alive.o" not in members, "worker/alive.c was removed but libworker.a still holds alive.o: %s"
              % members)
