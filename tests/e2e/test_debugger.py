"""tests/e2e/test_debugger.py — an operator attaching a debugger to the running supervisor (gdb -p) must not stop
the monitoring: when gdb calls a function in the process while it sleeps in ppoll, the kernel's internal
ERESTARTNOHAND (errno 514) reaches the program, and the supervisor used to take it for a failure ("ppoll: Unknown
error 514") and exit, stopping every check. It now waits again, as after EINTR (supervisor/signals.c sig_wait).

Its own directory, its own target server; every process is stopped on every path.
"""

import shutil
import subprocess

from harness import check, deadline, tempdir, wait_for
from targets import Targets
from pipeline_util import start_and_wait_rows


def gdb_call_getpid(pid):
    """gdb attaches, makes the process call getpid() (it is in ppoll then), and detaches."""
    res = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "call (int)getpid()", "-ex", "detach"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return res.returncode, res.stdout.decode(errors="replace")


def test_gdb_attach_and_call_keeps_the_supervisor():
    check(shutil.which("gdb"), "gdb is not installed (tools/install-deps.sh test installs it)")
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t, n=2)
        with cw:
            for i in range(6):
                rc, out = gdb_call_getpid(cw.pid)
                check(rc == 0, "gdb -p %d failed (%d): %s" % (cw.pid, rc, out[-500:]))
                check(cw.running(), "the supervisor exited after gdb's call %d; its log: %s"
                      % (i + 1, cw.log_text()[-1500:]))
            check("ppoll" not in cw.log_text(), "the supervisor logged a ppoll error: %s" % cw.log_text()[-1500:])
            # still monitoring: new checks are stored after the debugger has come and gone
            have = cw.count_rows()
            wait_for(lambda: cw.count_rows() >= have + 2, deadline(30), "checks stored after the debugger left")
            cw.stop(timeout=10, expect=0)
