"""tests/e2e/dbservers.py — real PostgreSQL and MariaDB servers for the tests and the benchmark.

Each server runs from Debian's packages (postgresql, mariadb-server) in a fresh temporary directory, on
127.0.0.1 and a free port chosen at run time, with its Unix socket inside that directory: never the
system's instance, its configuration files or its sockets. PostgreSQL refuses to run as root, so as root
its programs run as the `postgres` user (runuser); mariadbd is started with --user=mysql.

Both classes are context managers and also register an atexit hook, so the server is stopped and its
directory removed on every path (test failure, exception, Ctrl-C). stop()/start() keep the data directory:
the outage tests use them to take the database away and bring it back on the same port.

    with PostgresServer() as pg:          # user/password/database "clockwerk" created
        pg.query("SELECT count(*) FROM checks")   -> [['42']]
    with MariaDBServer() as my:
        my.query("SELECT count(*) FROM checks")

Only the standard library is used (queries go through the psql and mariadb command-line clients).
"""

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DB_NAME = "clockwerk"
DB_USER = "clockwerk"
DB_PASSWORD = "cw-Test-pw-4711"   # a throwaway password of a throwaway server; tests grep logs for it


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise TimeoutError("timed out after %ss waiting for %s" % (timeout, what))


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def make_cert(directory, owner=None):
    """A self-signed certificate for 127.0.0.1 (also the CA to verify it with): (cert path, key path)."""
    cert, key = os.path.join(directory, "server.crt"), os.path.join(directory, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    if owner is not None and os.geteuid() == 0:
        pw = pwd.getpwnam(owner)
        os.chown(key, pw.pw_uid, pw.pw_gid)
        os.chown(cert, pw.pw_uid, pw.pw_gid)
    return cert, key


def _pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL server programs not found (apt-get install postgresql)")


class _Server:
    kind = "server"

    def __init__(self):
        self.dir = None
        self.port = None
        self.running = False
        self._hooked = False

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _hook(self):
        if not self._hooked:
            atexit.register(self.cleanup)
            self._hooked = True

    def _log_tail(self, n=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def try_query(self, sql):
        """query(sql), or None while a table it names does not exist yet: the storer logs "connected" before
        it has created its schema, so a test polls with this until the tables are there."""
        try:
            return self.query(sql)
        except RuntimeError as e:
            if "does not exist" in str(e) or "doesn't exist" in str(e):
                return None
            raise

    def cleanup(self):
        """Stops the server (if it runs) and removes its directory. Safe to call twice."""
        try:
            if self.running:
                self.stop()
        finally:
            if self.dir and os.path.isdir(self.dir):
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class PostgresServer(_Server):
    """A PostgreSQL cluster of its own: initdb, postgres on 127.0.0.1:port, socket dir in self.dir."""

    kind = "postgresql"

    def __init__(self, port=None, tls=False):
        super().__init__()
        self.tls = tls
        self.cert = self.key = None
        self.bindir = _pg_bindir()
        self.port = port or free_port()
        self.as_postgres = os.geteuid() == 0
        self.user, self.password, self.dbname = DB_USER, DB_PASSWORD, DB_NAME

    def _cmd(self, argv):
        if self.as_postgres:
            return ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def _run(self, argv, **kw):
        return subprocess.run(self._cmd(argv), check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, **kw)

    @property
    def socket_dir(self):
        return self.dir

    @property
    def datadir(self):
        return os.path.join(self.dir, "data")

    @property
    def logfile(self):
        return os.path.join(self.dir, "postgres.log")

    def setup(self):
        self._hook()
        self.dir = tempfile.mkdtemp(prefix="cw-pg-")
        os.chmod(self.dir, 0o755)
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", "postgres", "-E", "UTF8",
                   "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256"])
        if self.tls:
            self.cert, self.key = make_cert(self.dir, "postgres" if self.as_postgres else None)
        self.start()
        self.psql_super("CREATE ROLE %s LOGIN PASSWORD '%s'" % (self.user, self.password))
        self.psql_super("CREATE DATABASE %s OWNER %s" % (self.dbname, self.user))

    def start(self):
        opts = "-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c max_connections=50" % (
            self.port, self.dir)
        if self.tls:
            opts += " -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s" % (self.cert, self.key)
        try:
            self._run([os.path.join(self.bindir, "pg_ctl"), "start", "-w", "-t", "60", "-D", self.datadir,
                       "-l", self.logfile, "-o", opts], timeout=90)
        except subprocess.CalledProcessError as e:
            raise RuntimeError("postgres did not start: %s\n%s" % (e.stdout, self._log_tail())) from e
        self.running = True
        _wait(self._ready, 60, "postgres on port %d" % self.port)

    def _ready(self):
        r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                            str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def stop(self):
        """Fast shutdown (the data directory stays, start() brings it back)."""
        if not self.running:
            return
        try:
            self._run([os.path.join(self.bindir, "pg_ctl"), "stop", "-w", "-t", "60", "-m", "fast", "-D",
                       self.datadir], timeout=90)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._kill_postmaster()
        self.running = False

    def _kill_postmaster(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                pid = int(f.readline())
            os.kill(pid, signal.SIGKILL)   # the postmaster we started; its children follow it
        except (OSError, ValueError):
            pass

    def psql_super(self, sql, db="postgres"):
        """Runs sql as the superuser over the Unix socket (trust)."""
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                            "-U", "postgres", "-d", db, "-At", "-F", "\t", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s: %s" % (sql, r.stderr.strip()))
        return r.stdout

    def query(self, sql):
        """Rows of a query in the test database, as lists of strings (NULL is None)."""
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                            "-U", "postgres", "-d", self.dbname, "-At", "-F", "\t", "-P", "null=\\N", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s: %s" % (sql, r.stderr.strip()))
        return [[None if v == "\\N" else v for v in line.split("\t")] for line in r.stdout.splitlines()]

    def config(self, host="127.0.0.1", password=None, dbname=None, port=None):
        """The `database` group of a clockwerk config for this server."""
        return ('database = { db_activation = true; db_driver = "postgresql"; db_host = "%s"; db_port = %d; '
                'db_name = "%s"; db_user = "%s"; db_password = "%s"; };'
                % (host, port or self.port, dbname or self.dbname, self.user,
                   self.password if password is None else password))


class MariaDBServer(_Server):
    """A MariaDB server of its own: mariadb-install-db, mariadbd on 127.0.0.1:port, socket in self.dir."""

    kind = "mysql"

    def __init__(self, port=None, tls=False):
        super().__init__()
        self.tls = tls
        self.cert = self.key = None
        self.port = port or free_port()
        self.proc = None
        self.is_root = os.geteuid() == 0
        self.user, self.password, self.dbname = DB_USER, DB_PASSWORD, DB_NAME
        self.mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not os.path.exists(self.mariadbd) or not self.install_db:
            raise RuntimeError("MariaDB server programs not found (apt-get install mariadb-server)")

    @property
    def datadir(self):
        return os.path.join(self.dir, "data")

    @property
    def socket_path(self):
        return os.path.join(self.dir, "mysqld.sock")

    @property
    def tmpdir(self):
        return os.path.join(self.dir, "tmp")

    @property
    def logfile(self):
        return os.path.join(self.dir, "mariadb.log")

    def setup(self):
        self._hook()
        self.dir = tempfile.mkdtemp(prefix="cw-my-")
        os.chmod(self.dir, 0o755)
        # Its own tmpdir (the default is the shared /tmp): a mariadbd that starts removes every "#sql*" file
        # in its tmpdir (leftover temporary tables), so a second server starting meanwhile deleted the first
        # one's live temporary table (seen under `run.py -j 2`: mariadb-install-db failed with "Error on
        # delete of '/tmp/#sql-temptable-...' (Errcode: 2)").
        os.makedirs(self.tmpdir)
        argv = [self.install_db, "--no-defaults", "--datadir=" + self.datadir, "--skip-test-db",
                "--auth-root-authentication-method=" + ("socket" if self.is_root else "normal"),
                "--tmpdir=" + self.tmpdir]
        if self.is_root:
            os.makedirs(self.datadir)
            pw = pwd.getpwnam("mysql")
            for path in (self.dir, self.datadir, self.tmpdir):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            argv.append("--user=mysql")
        if self.tls:
            self.cert, self.key = make_cert(self.dir, "mysql" if self.is_root else None)
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n%s" % r.stdout[-3000:])
        self.start()
        self.sql_root("CREATE DATABASE %s CHARACTER SET utf8mb4" % self.dbname)
        self.sql_root("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'" % (self.user, self.password))
        self.sql_root("GRANT ALL ON %s.* TO '%s'@'%%'" % (self.dbname, self.user))

    def start(self):
        argv = [self.mariadbd, "--no-defaults", "--datadir=" + self.datadir, "--socket=" + self.socket_path,
                "--port=%d" % self.port, "--bind-address=127.0.0.1", "--pid-file=" + os.path.join(self.dir, "m.pid"),
                "--log-error=" + self.logfile, "--tmpdir=" + self.tmpdir, "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                "--max-connections=50"]
        if self.tls:
            argv += ["--ssl-cert=" + self.cert, "--ssl-key=" + self.key]
        if self.is_root:
            argv.append("--user=mysql")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.running = True
        try:
            _wait(lambda: self.proc.poll() is not None or self._ready(), 90, "mariadbd on port %d" % self.port)
        except TimeoutError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            self.running = False
            raise RuntimeError("mariadbd exited with %s:\n%s" % (self.proc.returncode, self._log_tail()))

    def _ready(self):
        if not _port_open(self.port):
            return False
        r = subprocess.run(self._client("mariadb-admin") + ["ping"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def _client(self, prog):
        return [shutil.which(prog) or prog, "--no-defaults", "-S", self.socket_path, "-u", "root"]

    def stop(self):
        """Clean shutdown with SIGTERM (KILL after a minute); the data directory stays."""
        if not self.running or self.proc is None:
            self.running = False
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.running = False

    def sql_root(self, sql, db=None):
        argv = self._client("mariadb") + ["--default-character-set=utf8mb4", "-N", "-B", "-e", sql] + (
            [db] if db else [])
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
        if r.returncode != 0:
            raise RuntimeError("mariadb failed: %s: %s" % (sql, r.stderr.strip()))
        return r.stdout

    def query(self, sql):
        """Rows of a query in the test database, as lists of strings (NULL is None)."""
        out = self.sql_root(sql, db=self.dbname)
        return [[None if v == "NULL" else v for v in line.split("\t")] for line in out.splitlines()]

    def config(self, host="127.0.0.1", password=None, dbname=None, port=None):
        return ('database = { db_activation = true; db_driver = "mysql"; db_host = "%s"; db_port = %d; '
                'db_name = "%s"; db_user = "%s"; db_password = "%s"; };'
                % (host, port or self.port, dbname or self.dbname, self.user,
                   self.password if password is None else password))


if __name__ == "__main__":
    # Manual check: start both, print how to reach them, stop on Enter.
    with PostgresServer() as pg, MariaDBServer() as my:
        print("postgresql: 127.0.0.1:%d (socket dir %s)" % (pg.port, pg.dir))
        print("mariadb:    127.0.0.1:%d (socket %s)" % (my.port, my.socket_path))
        print(pg.query("SELECT version()")[0][0])
        print(my.query("SELECT version()")[0][0])
        if os.isatty(0):
            input("Enter stops both servers: ")
