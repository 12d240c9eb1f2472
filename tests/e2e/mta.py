"""tests/e2e/mta.py — a real MTA for the mail tests: Debian's exim4 (exim4-daemon-light) as a foreground daemon
on 127.0.0.1 and a free port, with a configuration this module writes, delivering every accepted message to a
Maildir under its own directory.

    with Exim(refuse={"bad@example.test": "5.1.1 no such user"},     # 550 at RCPT TO
              defer={"busy@example.test": "4.2.1 mailbox busy"}) as mta:   # 451 at RCPT TO
        ... mta.port, mta.messages(), mta.wait_messages(n, "DOWN"), mta.log_text() ...

Each message is an email.message.EmailMessage parsed with email.policy.default (headers decoded as a mail reader
decodes them: RFC 2047 encoded-words, folded lines), with the envelope recipients in its Envelope-to header.

DESIGN
Never the system's exim: the system service (installed with the package) is stopped and disabled before the
first daemon starts (as root; without root a running system exim is only reported), and this daemon binds
127.0.0.1 only. Exim started with -C gives up root for delivery (it logs "exim user lost privilege"), so the
spool, the logs and the Maildir live in a directory of their own owned by the user the daemon runs as
(Debian-exim when the tests run as root, else the test's user), removed in stop(). The daemon and its
receiving and delivering children run in their own session: stop() kills the whole group, and every pid is
recorded for the runner. Ready means the port accepts a connection and answers 220, polled, never slept.
"""

import email
import email.policy
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile

import harness
from hbase import PROCESSES, capture_artifact, free_port, wait_for

EXIM = "/usr/sbin/exim4"
DOMAIN = "example.test"


def system_exim_pid():
    """The pid of the system's exim daemon when one runs (its pid file), else None."""
    for path in ("/run/exim4/exim.pid", "/var/run/exim4/exim.pid"):
        try:
            with open(path) as f:
                pid = int(f.read().split()[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError, IndexError):
            continue
    return None


def quiet_system_exim():
    """Stops the system's exim service and keeps it from starting at boot (root only; idempotent)."""
    if not os.path.exists("/etc/init.d/exim4"):
        return
    if os.geteuid() != 0:
        if system_exim_pid():
            harness.note("the system's exim4 runs (not root: not stopped); this test's exim is separate")
        return
    if glob.glob("/etc/rc[2-5].d/S*exim4"):
        subprocess.run(["update-rc.d", "exim4", "disable"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if system_exim_pid():
        subprocess.run(["/etc/init.d/exim4", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        wait_for(lambda: system_exim_pid() is None, 30, "the system's exim4 to stop")


def _acl_lines(verb, table):
    lines = []
    for addr, text in sorted(table.items()):
        lines += ["  %s message = %s" % (verb, text), "        recipients = %s" % addr]
    return lines


class Exim:
    def __init__(self, refuse=None, defer=None):
        self.refuse = dict(refuse or {})
        self.defer = dict(defer or {})
        self.port = None
        self.dir = None
        self.proc = None

    # ---------------------------------------------------------------- set-up
    def _user(self):
        if os.geteuid() == 0:
            pw = pwd.getpwnam("Debian-exim")
            return pw.pw_name, pw.pw_uid, pw.pw_gid
        pw = pwd.getpwuid(os.geteuid())
        return pw.pw_name, pw.pw_uid, pw.pw_gid

    def _config(self, user):
        d = self.dir
        lines = [
            "primary_hostname = mta.%s" % DOMAIN,
            "qualify_domain = %s" % DOMAIN,
            "spool_directory = %s/spool" % d,
            "log_file_path = %s/log/%%slog" % d,
            "pid_file_path = %s/exim.pid" % d,
            "exim_user = %s" % user,
            "local_interfaces = <; 127.0.0.1",
            "daemon_smtp_ports = %d" % self.port,
            "domainlist local_domains = %s" % DOMAIN,
            "acl_smtp_rcpt = acl_check_rcpt",
            "rfc1413_hosts =",
            "host_lookup =",
            "tls_advertise_hosts =",
            "keep_environment =",
            "begin acl",
            "acl_check_rcpt:",
        ] + _acl_lines("deny   ", self.refuse) + _acl_lines("defer  ", self.defer) + [
            "  accept domains = +local_domains",
            "         hosts = 127.0.0.1",
            "  deny   message = relay not permitted",
            "begin routers",
            "local_mailbox:",
            "  driver = accept",
            "  domains = +local_domains",
            "  transport = maildir",
            "begin transports",
            "maildir:",
            "  driver = appendfile",
            "  directory = %s/Maildir" % d,  # one mailbox; Envelope-to says for whom
            "  maildir_format",
            "  create_directory",
            "  envelope_to_add",
            "  return_path_add",
            "  delivery_date_add",
            "  user = %s" % user,
            "  mode = 0600",
            "begin retry",
            "*   *   F,1h,1m",
        ]
        return "\n".join(lines) + "\n"

    def start(self):
        if not os.access(EXIM, os.X_OK):
            raise harness.TestFailure("%s is missing: sh tools/install-deps.sh test installs exim4-daemon-light"
                                      % EXIM)
        quiet_system_exim()
        user, uid, gid = self._user()
        self.dir = tempfile.mkdtemp(prefix="cw-exim-", dir="/tmp")
        for sub in ("spool", "log", "Maildir"):
            os.mkdir(os.path.join(self.dir, sub))
        for root, dirs, _files in os.walk(self.dir):
            for p in [root] + [os.path.join(root, x) for x in dirs]:
                os.chown(p, uid, gid)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "exim.conf")  # owned by the caller (root or the test's user)
        with open(self.conf, "w") as f:
            f.write(self._config(user))
        os.chmod(self.conf, 0o644)
        self.out = open(os.path.join(self.dir, "daemon.out"), "wb")
        self.proc = subprocess.Popen([EXIM, "-C", self.conf, "-bdf"], stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        PROCESSES.add(self.proc.pid)
        wait_for(self._answers, harness.deadline(20),
                 lambda: "exim on 127.0.0.1:%d to answer 220 (exit %s): %s" % (self.port, self.proc.poll(),
                                                                               self.log_text()[-2000:]))
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise harness.TestFailure("exim exited with %s: %s" % (self.proc.returncode, self.log_text()[-2000:]))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                return s.recv(64).startswith(b"220")
        except OSError:
            return False

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            try:  # receiving and delivering children left in the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
            self.out.close()
        if self.dir:
            capture_artifact("exim mainlog", os.path.join(self.dir, "log", "mainlog"))
            if os.environ.get("CLOCKWERK_E2E_KEEP"):
                print("kept " + self.dir, flush=True)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    # ---------------------------------------------------------------- what arrived
    def log_text(self):
        parts = []
        for name in ("log/mainlog", "log/rejectlog", "daemon.out"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    parts.append(f.read())
            except OSError:
                pass
        return "".join(parts)

    def messages(self):
        """Every delivered message, oldest first (Maildir names start with the delivery time)."""
        new = os.path.join(self.dir, "Maildir", "new")
        try:
            names = os.listdir(new)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            path = os.path.join(new, name)
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            out.append((os.stat(path).st_mtime_ns, name, msg))
        out.sort(key=lambda t: (t[0], t[1]))
        return [m for _, _, m in out]

    def subjects(self):
        return [str(m["Subject"]) for m in self.messages()]

    def wait_messages(self, n, contains="", timeout=30):
        """At least n delivered messages whose Subject contains `contains`; returns them, oldest first."""
        def enough():
            found = [m for m in self.messages() if contains in str(m["Subject"])]
            return found if len(found) >= n else None
        return wait_for(enough, harness.deadline(timeout),
                        lambda: "%d message(s) with %r in the subject; delivered: %s" % (n, contains, self.subjects()))
