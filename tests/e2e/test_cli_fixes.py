"""tests/e2e/test_cli_fixes.py — the command line's messages and argument order (issue 17's operator trial):

- a syntax error said once with its line (`FILE:LINE: syntax error`), an unreadable file said as a file-level
  problem (`FILE: cannot open the configuration: Permission denied`, no ":0:"), and clockwerk-tap saying it
  cannot read the file (not "not a valid configuration"). The unreadable cases run as nobody (setpriv), since
  root reads any file.
"""

import os
import re
import subprocess

import harness
from harness import check, deadline, run_cli, tempdir, wait_for

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _as_nobody(program, args):
    """(exit code, stderr) of PROGRAM ARGS run as nobody."""
    r = subprocess.run(NOBODY + [harness.binary(program)] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=deadline(20))
    err = r.stderr.decode("utf-8", "replace")
    harness.ARTIFACTS["%s %s (as nobody)" % (program, " ".join(args))] = err
    return r.returncode, err


def test_syntax_error_said_once():
    with tempdir() as d:
        path = os.path.join(d, "c.conf")
        harness.write_config(path, 'supervisor = { run_dir = "run"; };\nmonitor = {\n check_interval = ;\n};\n')
        res = run_cli(["-t", "-c", path])
        check(res.code == 1, "exit %s" % res.code)
        check("%s:3: syntax error\n" % os.path.realpath(path) in res.err, "not said once with its line: %r" % res.err)
        check("syntax error: syntax error" not in res.err, "libconfig's text doubled: %r" % res.err)


def test_unreadable_file_messages():
    with tempdir() as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "c.conf")
        harness.write_config(path, 'supervisor = { run_dir = "run"; };\n')
        os.chmod(path, 0o600)
        code, err = _as_nobody("clockwerk", ["-t", "-c", path])
        check(code == 1, "clockwerk -t exit %s: %r" % (code, err))
        check("%s: cannot open the configuration: Permission denied\n" % path in err, "clockwerk -t said %r" % err)
        check(":0:" not in err, "a line 0 for a file-level problem: %r" % err)
        code, err = _as_nobody("clockwerk-tap", ["-c", path])
        check(code == 1, "clockwerk-tap exit %s: %r" % (code, err))
        check("clockwerk-tap: cannot read the configuration %s: Permission denied\n" % path in err,
              "clockwerk-tap said %r" % err)
        check("not a valid configuration" not in err, "clockwerk-tap calls it invalid: %r" % err)


ROOT_WARNING = (r"warn: running as root without supervisor\.user: every child runs as root; set supervisor\.user "
                r"or run clockwerk under a dedicated user \(the systemd unit does\)")


def test_root_without_user_warned():
    """Started as root without supervisor.user: one warning at start; with supervisor.user set: none."""
    if os.geteuid() != 0:
        harness.note("not root: the warning is not tested here")
        return
    with tempdir() as d:
        cfg = harness.base_config([{"url": "http://127.0.0.1:1/a"}], db=False)
        with harness.Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_log(ROOT_WARNING)
            cw.stop()
        check(len(re.findall(ROOT_WARNING, cw.log_text())) == 1, "the warning not said exactly once")
    with tempdir() as d:
        os.chmod(d, 0o755)
        cfg = harness.base_config([{"url": "http://127.0.0.1:1/a"}], db=False, extra={"supervisor": {"user": "nobody"}})
        with harness.Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_log(r"children run as nobody")
            cw.stop()
        check(not re.search(ROOT_WARNING, cw.log_text()), "warned with supervisor.user set")


def _config_forms(conf):
    """(name, the options before the command, the options after it) for every spelling of the configuration."""
    spellings = [["-c", conf], ["--config", conf], ["--config=" + conf]]
    return [("%s before" % s[0][:9], s, []) for s in spellings] + [("%s after" % s[0][:9], [], s) for s in spellings]


def test_config_option_before_and_after_every_subcommand():
    """report, status, silence, ack: -c F, --config F and --config=F, before and after the command, all work alike
    (the exit code and stderr of `COMMAND -c F`); none is a usage error."""
    with tempdir() as d:
        cfg = harness.base_config([{"url": "http://127.0.0.1:1/a"}])
        with harness.Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            conf = cw.conf_path
            for command in (["report"], ["status"], ["silence", "list"], ["ack", "0123456789abcdef"]):
                for name, before, after in _config_forms(conf):
                    what = "%s with %s (%s)" % (" ".join(command), name, " ".join(before + command + after))
                    last = {}

                    def alike():  # the state may change between two runs (a report before the first results)
                        want = run_cli(command + ["-c", conf], timeout=30)
                        res = run_cli(before + command + after, timeout=30)
                        last.update(want=want, res=res)
                        check("usage" not in res.err and "unexpected" not in res.err and res.code != 2,
                              "%s: a usage error: %r" % (what, res.err[-400:]))
                        return want.code in (0, 1) and res.code == want.code
                    wait_for(alike, deadline(20), lambda: "%s: exit %s, `%s -c F` %s: %r" % (
                        what, last["res"].code, " ".join(command), last["want"].code, last["res"].err[-400:]))
            cw.stop()


def _check_as_nobody(d, text):
    path = os.path.join(d, "c.conf")
    harness.write_config(path, text)
    os.chmod(path, 0o644)
    return _as_nobody("clockwerk", ["-t", "-c", path])


def test_t_warns_where_the_start_would_fail():
    """-t (as nobody): a run_dir it cannot create (its parent not writable) or that exists and is not writable, and
    log_target "syslog" without a /dev/log: warnings (exit 0, "config OK": root may check a file another user runs),
    not silence."""
    with tempdir() as d:
        os.chmod(d, 0o755)
        locked = os.path.join(d, "locked")
        os.makedirs(os.path.join(locked, "existing"))
        os.chmod(os.path.join(locked, "existing"), 0o755)
        os.chmod(locked, 0o755)
        endpoints = 'monitor = { endpoints = ({ url = "http://127.0.0.1:1/a"; }); };\n'
        for run_dir, why in ((os.path.join(locked, "run"), "cannot create it in %s" % locked),
                             (os.path.join(locked, "existing"), "is not writable")):
            code, err = _check_as_nobody(d, 'supervisor = { run_dir = "%s"; };\n%s' % (run_dir, endpoints))
            check(code == 0, "-t exit %s: %r" % (code, err))
            check(re.search(r"warning: supervisor\.run_dir %s: %s" % (re.escape(run_dir), re.escape(why)), err),
                  "no run_dir warning for %s: %r" % (run_dir, err))
        os.makedirs(os.path.join(d, "open"))
        os.chmod(os.path.join(d, "open"), 0o777)
        code, err = _check_as_nobody(d, 'supervisor = { run_dir = "%s/open/run"; log_target = "syslog"; };\n%s'
                                     % (d, endpoints))
        if os.path.exists("/dev/log"):
            harness.note("this machine has /dev/log: the syslog warning is not tested here")
        else:
            check(code == 0, "-t exit %s: %r" % (code, err))
            check("warning: supervisor.log_target syslog: /dev/log is not a socket here; the processes would log to "
                  "stderr instead\n" in err, "no log_target warning: %r" % err)
            check("run_dir" not in err, "a run_dir warning for a writable place: %r" % err)
