"""tests/e2e/test_package.py — the Debian package (debian/, `make deb`) built, checked and installed for real.

`make deb` builds build/deb/clockwerk_VERSION_ARCH.deb (cached: a second run with the same sources is quick),
lintian finds no error in it (its warnings and infos are exactly those docs/install.md lists with why they
stay), `apt-get install ./…deb` installs it on this machine, the installed configuration passes `clockwerk -t`
as the clockwerk user, and the installed programs (/usr/bin/clockwerk, its children from /usr/libexec/clockwerk)
run a short pipeline as that user: a target on loopback, results stored in a SQLite database in
/var/lib/clockwerk. Then `apt-get purge` on every path, and nothing of the package is left: no file
of its `dpkg -L` list, no /etc/clockwerk, no /var/lib/clockwerk, no enablement symlink of its unit.

The clockwerk user and group survive the purge (Debian's practice for system users, debian/clockwerk.postrm
says why): the test checks that, then removes them itself when they did not exist before it, so the machine
is left as the test found it. Whether they existed is recorded before the install in a marker (MARKER), so a run
killed half-way is cleaned up by the next one (purge, user, group). A clockwerk package, /etc/clockwerk or
/var/lib/clockwerk the test did not install (no marker) is someone's real install: the test fails at once, saying
so, rather than purge it with its data. The service is never started: a policy-rc.d that refuses every start is put in
place for the install when the machine has none (as tools/install-deps.sh does), and this machine does not run
systemd anyway.

Marked alone (it installs a package system-wide) and plain_only: it tests the binaries it builds into the
package, not those of CLOCKWERK_BIN, so the sanitizer pass would only repeat it.
"""

import contextlib
import fcntl
import glob
import grp
import json
import os
import pwd
import re
import shutil
import stat
import subprocess

from harness import (REPO, Clockwerk, alone, base_config, check, deadline, endpoint, note, plain_only, tempdir,
                     timeout, wait_for)
from targets import Targets

PACKAGE = "clockwerk"
DEB_DIR = os.path.join(REPO, "build", "deb")
CONF = "/etc/clockwerk/clockwerk.conf"
STATE_DIR = "/var/lib/clockwerk"
POLICY_RC = "/usr/sbin/policy-rc.d"
# Held for the whole test: another checkout's run of this test (its own runner: @alone does not see it) waits,
# since the package, the clockwerk user and /etc/clockwerk are the machine's, not the checkout's.
MACHINE_LOCK = "/run/lock/clockwerk-test-package.lock"
# Written before the install, removed once the package is purged and the user and group the test made are gone:
# whether the clockwerk user and group existed before. A run that finds it cleans up after a killed one; a
# clockwerk package or directory found without it is someone's, and the test refuses to run. In /run/lock, like
# the lock, so that every checkout on the machine sees it (a reboot loses it: a package left installed by a
# killed run is then refused, and purged by hand).
MARKER = "/run/lock/clockwerk-test-package.state"
UNIT = "clockwerk.service"
# Directories the package owns alone: gone after the purge.
OWN_DIRS = ("/etc/clockwerk", "/usr/libexec/clockwerk", "/usr/share/doc/clockwerk", STATE_DIR)


def run(argv, timeout_s=120, env=None, ok=True):
    """Runs argv to completion; fails the test with its output when ok and it exits non-zero."""
    full_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", **(env or {}))
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=full_env, timeout=timeout_s)
    out = p.stdout.decode("utf-8", "replace")
    if ok:
        check(p.returncode == 0, "%s exited %d:\n%s" % (" ".join(argv), p.returncode, out[-4000:]))
    return p.returncode, out


def package_version():
    _, version = run(["dpkg-parsechangelog", "-l", os.path.join(REPO, "debian", "changelog"), "-S", "Version"])
    return version.strip()


def installed():
    code, out = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], ok=False)
    return code == 0 and "installed" in out.split()


def build_deb():
    """make deb (nocheck: `make test` runs the unit tests itself); returns the .deb's path."""
    arch = run(["dpkg-architecture", "-qDEB_HOST_ARCH"])[1].strip()
    deb = os.path.join(DEB_DIR, "clockwerk_%s_%s.deb" % (package_version(), arch))
    _, out = run(["make", "--no-print-directory", "-C", REPO, "deb"], timeout_s=deadline(900),
                 env={"DEB_BUILD_OPTIONS": "nocheck"})
    note(out.strip().splitlines()[-1] if out.strip() else "make deb said nothing")
    check(os.path.isfile(deb), "make deb did not produce %s" % deb)
    return deb


@contextlib.contextmanager
def machine_lock():
    """The machine-wide lock of this test (MACHINE_LOCK), waited for with a generous deadline."""
    fd = os.open(MACHINE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        def taken():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        wait_for(taken, deadline(900), "the package test of another checkout to end (%s)" % MACHINE_LOCK,
                 interval=0.5)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def services_refused():
    """A policy-rc.d that refuses every service start, for the time of the install, when there is none."""
    if os.path.exists(POLICY_RC):
        yield
        return
    with open(POLICY_RC, "w") as f:
        f.write("#!/bin/sh\n# tests/e2e/test_package.py: no service starts during the test\nexit 101\n")
    os.chmod(POLICY_RC, 0o755)
    try:
        yield
    finally:
        os.unlink(POLICY_RC)


def package_files():
    """The regular files and links the installed package lists (dpkg -L), without its directories."""
    _, out = run(["dpkg", "-L", PACKAGE])
    return [p for p in out.splitlines() if p.startswith("/") and not os.path.isdir(p)]


def enablement_left():
    """What the unit's enablement (deb-systemd-helper) left on the machine."""
    return (glob.glob("/etc/systemd/system/*.wants/" + UNIT)
            + glob.glob("/var/lib/systemd/deb-systemd-helper-enabled/*" + UNIT + "*")
            + glob.glob("/var/lib/systemd/deb-systemd-helper-enabled/*/" + UNIT))


def purge_and_check(files):
    """apt-get purge, then nothing of the package is left (the clockwerk user excepted: see the docstring)."""
    run(["apt-get", "purge", "-y", "-q", PACKAGE], timeout_s=deadline(180))
    check(not installed(), "the package is still installed after apt-get purge")
    left = [p for p in files if os.path.lexists(p)]
    check(not left, "files of the package left after the purge: %s" % left[:10])
    left = [d for d in OWN_DIRS if os.path.lexists(d)]
    check(not left, "directories of the package left after the purge: %s" % left)
    check(not enablement_left(), "the unit's enablement left after the purge: %s" % enablement_left())
    for path in (STATE_DIR, CONF):
        check(run(["dpkg-statoverride", "--list", path], ok=False)[0] != 0,
              "the purge left the dpkg-statoverride of %s" % path)
    check(user_exists(), "the purge removed the clockwerk user (Debian keeps system users)")


def documented_lintian_tags():
    """{(letter, tag)} of the table in docs/install.md "Debian package" (rows like | W `tag` | why |)."""
    with open(os.path.join(REPO, "docs", "install.md")) as f:
        text = f.read()
    section = text.split("## Debian package", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| ([EWI]) `([a-z0-9.+-]+)`", section, re.M))


def drop_machine_code_spellings(out):
    """lintian's output without the spelling-error-in-binary lines whose "word" is in no string of the sources: bytes
    of compiled code that happen to read as one (seen: `wTH` for "with" in clockwerk-web, a new one with any change
    of code). A misspelling in a message is a whole word in a C string literal, so it stays reported."""
    sources = []
    for top in ("common", "supervisor", "worker", "storer", "alerter", "relay", "tap", "web", "report", "history"):
        for dirpath, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith((".c", ".h")):
                    with open(os.path.join(dirpath, name), errors="replace") as f:
                        sources.append(f.read())
    strings = "\n".join(re.findall(r'"(?:[^"\\\n]|\\.)*"', "\n".join(sources)))  # the C string literals
    kept = []
    for line in out.splitlines():
        m = re.match(r"^[EWI]: clockwerk: spelling-error-in-binary (\S+) ", line)
        # a misspelt message: the word whole, inside a C string literal (a substring test counted machine code that
        # happened to read as a piece of any identifier: CI, 2026-12-06)
        if m and not re.search(r"\b%s\b" % re.escape(m.group(1)), strings):
            note("lintian, not counted (in no string of the sources: machine code): %s" % line)
            continue
        kept.append(line)
    return "\n".join(kept)


def check_lintian(deb):
    """No error, and every warning and info tag listed in docs/install.md with why it stays (and no more)."""
    code, out = run(["lintian", "--fail-on", "error", "--display-info", deb], timeout_s=deadline(300), ok=False)
    check(code == 0, "lintian found errors in %s:\n%s" % (deb, out[-4000:]))
    out = drop_machine_code_spellings(out)
    found = set(re.findall(r"^([EWI]): clockwerk: ([a-z0-9.+-]+)", out, re.M))
    documented = documented_lintian_tags()
    check(found <= documented, "lintian tags not in docs/install.md 'Debian package' (fix them or say why they "
          "stay): %s" % sorted(found - documented))
    check(documented <= found, "docs/install.md 'Debian package' lists lintian tags it no longer reports: %s"
          % sorted(documented - found))
    note("lintian: %s" % (", ".join("%s %s" % t for t in sorted(found)) or "nothing"))


def user_exists():
    try:
        pwd.getpwnam(PACKAGE)
        return True
    except KeyError:
        return False


def check_installed_layout():
    """The files, owners and modes the package promises (docs/install.md, "Debian package")."""
    paths = ["/usr/bin/clockwerk", "/usr/bin/clockwerk-tap", "/usr/libexec/clockwerk/clockwerk-worker",
             "/usr/libexec/clockwerk/clockwerk-storer", "/usr/share/doc/clockwerk/copyright",
             "/usr/share/man/man8/clockwerk.8.gz", "/usr/share/man/man5/clockwerk.conf.5.gz"]
    if os.path.exists(os.path.join(REPO, "etc", "systemd", "clockwerk.service.in")):
        paths.append("/lib/systemd/system/" + UNIT)
    for path in paths:
        check(os.path.exists(path), "the package installed no %s" % path)
    _, conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE])
    check(CONF in conffiles, "%s is not a conffile: %r" % (CONF, conffiles))
    user = pwd.getpwnam(PACKAGE)
    check(user.pw_uid < 1000 and user.pw_shell == "/usr/sbin/nologin" and user.pw_dir == STATE_DIR,
          "clockwerk is not a system user without a login shell, home %s: %r" % (STATE_DIR, user))
    group = grp.getgrnam(PACKAGE)
    st = os.stat(STATE_DIR)
    check(st.st_uid == user.pw_uid and st.st_gid == group.gr_gid and stat.S_IMODE(st.st_mode) == 0o750,
          "%s is not clockwerk:clockwerk 0750: uid %d gid %d mode %o" % (STATE_DIR, st.st_uid, st.st_gid,
                                                                     stat.S_IMODE(st.st_mode)))
    for path, want in ((STATE_DIR, ["clockwerk", "clockwerk", 0o750]), (CONF, ["root", "clockwerk", 0o640])):
        code, out = run(["dpkg-statoverride", "--list", path], ok=False)
        words = out.split()
        check(code == 0 and len(words) == 4 and words[:2] + [int(words[2], 8)] == want and words[3] == path,
              "dpkg-statoverride --list %s: exit %d, %r; want %s %s %04o" % (path, code, out, want[0], want[1],
                                                                           want[2]))
    st = os.stat(CONF)
    check(st.st_uid == 0 and st.st_gid == group.gr_gid and stat.S_IMODE(st.st_mode) == 0o640,
          "%s is not root:clockwerk 0640 (it may hold passwords): uid %d gid %d mode %o"
          % (CONF, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))


def as_clockwerk(argv):
    return ["runuser", "-u", PACKAGE, "--"] + argv


def run_pipeline(d):
    """The installed supervisor, as the clockwerk user, checks a loopback target into /var/lib/clockwerk."""
    user = pwd.getpwnam(PACKAGE)
    os.chown(d, user.pw_uid, user.pw_gid)      # the run_dir is created in the config's directory
    # setpriv execs in place (runuser stays as a parent): the supervisor is the process the harness watches
    launcher = os.path.join(d, "launcher")
    os.makedirs(launcher)
    with open(os.path.join(launcher, "clockwerk"), "w") as f:
        f.write('#!/bin/sh\nexec setpriv --reuid=clockwerk --regid=clockwerk --init-groups '
                '/usr/bin/clockwerk "$@"\n')
    os.chmod(os.path.join(launcher, "clockwerk"), 0o755)
    db = os.path.join(STATE_DIR, "e2e-package.db")
    with Targets() as t:
        url = t.url("/ok")
        cfg = base_config([endpoint(url, timeout=1)], workers=1, db_name=db, run_dir=os.path.join(d, "run"))
        cw = Clockwerk(cfg, d, bin_dir=launcher)
        os.chown(cw.conf_path, user.pw_uid, user.pw_gid)
        with cw:
            titles = cw.wait_ready(timeout=30)
            for title, pid in titles.items():
                exe = os.readlink("/proc/%d/exe" % pid)
                check(exe.startswith("/usr/libexec/clockwerk/") or exe == "/usr/bin/clockwerk",
                      "%s runs %s, not an installed program" % (title, exe))
                check(os.stat("/proc/%d" % pid).st_uid == user.pw_uid, "%s does not run as clockwerk" % title)
            check(os.stat("/proc/%d" % cw.pid).st_uid == user.pw_uid, "the supervisor does not run as clockwerk")
            cw.wait_count(url, 2, timeout=30)
            cw.stop()
        st = os.stat(db)
        check(st.st_uid == user.pw_uid, "%s is not owned by clockwerk" % db)
        note("pipeline as clockwerk: children %s, results in %s" % (sorted(titles), db))


def install_run_purge(deb):
    """apt-get install, the checks, the pipeline; apt-get purge and its checks on every path."""
    files = []
    try:
        with services_refused():
            run(["apt-get", "install", "-y", "-q", "--no-install-recommends", deb], timeout_s=deadline(300))
        files = package_files()
        check_installed_layout()
        check(enablement_left(), "the unit was not enabled on install (deb-systemd-helper)")
        code, out = run(as_clockwerk(["/usr/bin/clockwerk", "-t", "-c", CONF]), ok=False)
        check(code == 0, "clockwerk -t -c %s as clockwerk exited %d:\n%s" % (CONF, code, out))
        with tempdir() as d:
            run_pipeline(d)
    finally:
        if installed() or files:
            purge_and_check(files)


# Stand-ins for what the maintainer scripts run, for test_maintainer_scripts_apply_modes_once: each logs its
# call; dpkg-statoverride keeps its overrides in a file and refuses a second --add as the real one does;
# getent/adduser share a flag file for the user.
STUBS = {
    "getent": '[ -e "$STUBSTATE/user" ]',
    "adduser": ': > "$STUBSTATE/user"',
    "chown": ":", "chmod": ":", "rm": ":",
    "dpkg-statoverride": """db="$STUBSTATE/overrides"; touch "$db"
case "$1" in
--list) grep -q " $2\$" "$db" ;;
--update) shift; [ "$1" = --add ] || exit 9; shift
    if grep -q " $4\$" "$db"; then echo "dpkg-statoverride: error: an override for '$4' already exists" >&2; exit 2; fi
    echo "$*" >> "$db" ;;
--remove) grep -v " $2\$" "$db" > "$db.new" || true; mv "$db.new" "$db" ;;
*) exit 9 ;;
esac""",
}
# In a private mount namespace, with tmpfs over /etc, /var/lib and /run: nothing of the machine can be touched
# even by a script that bypassed the stubs.
SCRIPT_SANDBOX = ("mount -t tmpfs tmpfs /etc && mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs /run && "
                  "mkdir /etc/clockwerk /var/lib/clockwerk && : > /etc/clockwerk/clockwerk.conf && "
                  'exec /bin/sh "$@"')


def _run_maintainer_script(stubs, state, script, *args):
    """debian/clockwerk.SCRIPT ARGS in the sandbox with the stubs first on PATH; returns the calls it made."""
    calls = os.path.join(state, "calls")
    if os.path.exists(calls):
        os.unlink(calls)
    env = {"PATH": stubs + ":/usr/sbin:/usr/bin:/sbin:/bin", "STUBSTATE": state}
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", SCRIPT_SANDBOX,
                        "sh", os.path.join(REPO, "debian", "clockwerk." + script)] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       timeout=deadline(30))
    out = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0, "%s %s exited %d:\n%s" % (script, " ".join(args), p.returncode, out))
    if not os.path.exists(calls):
        return []
    with open(calls) as f:
        return [c for c in f.read().splitlines() if not c.startswith(("getent", "dpkg-statoverride --list"))]


@plain_only("it runs debian/'s maintainer scripts with stand-in commands, no binary under test")
@timeout(60)
def test_maintainer_scripts_apply_modes_once():
    """postinst gives /var/lib/clockwerk and the configuration their owners and modes through dpkg-statoverride on
    the first install only (so dpkg keeps them on every unpack and an operator's change stands); a later configure
    (upgrade, dpkg-reconfigure) changes no owner or mode; every script is idempotent; purge removes the overrides
    (fails before: every configure ran chown root:clockwerk and chmod 0640 on the conffile, undoing the
    operator's change, and no override was registered)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        note("not root or no unshare: the maintainer scripts cannot be sandboxed; nothing checked")
        return
    with tempdir() as d:
        stubs, state = os.path.join(d, "stubs"), os.path.join(d, "state")
        os.makedirs(stubs)
        os.makedirs(state)
        for name, body in STUBS.items():
            with open(os.path.join(stubs, name), "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> "$STUBSTATE/calls"\n%s\n' % (name, body))
            os.chmod(os.path.join(stubs, name), 0o755)
        overrides = os.path.join(state, "overrides")

        def registered():
            if not os.path.exists(overrides):
                return []
            with open(overrides) as f:
                return sorted(f.read().splitlines())
        want = ["clockwerk clockwerk 0750 /var/lib/clockwerk", "root clockwerk 0640 /etc/clockwerk/clockwerk.conf"]

        calls = _run_maintainer_script(stubs, state, "postinst", "configure", "")
        check(any(c.startswith("adduser --system") for c in calls), "the first install made no user: %s" % calls)
        check(registered() == want, "overrides after the first install: %s, want %s" % (registered(), want))
        calls = _run_maintainer_script(stubs, state, "postinst", "configure", "")    # a rerun after a failure
        check(calls == [], "a second first-install configure did %s" % calls)
        os.unlink(overrides)                          # the operator dropped them and set modes of their own
        for version in ("0.1.0-1", "0.0.9-1"):        # dpkg-reconfigure, an upgrade
            calls = _run_maintainer_script(stubs, state, "postinst", "configure", version)
            check(calls == [], "postinst configure %s changed owners or modes: %s" % (version, calls))
        check(registered() == [], "postinst configure re-registered overrides: %s" % registered())

        _run_maintainer_script(stubs, state, "postinst", "configure", "")
        for args in (["remove"], ["upgrade", "0.1.0-1"]):
            calls = _run_maintainer_script(stubs, state, "postrm", *args)
            check(calls == [] and registered() == want, "postrm %s did %s" % (" ".join(args), calls))
        calls = _run_maintainer_script(stubs, state, "postrm", "purge")
        check(registered() == [] and "rm -rf /var/lib/clockwerk" in calls,
              "after postrm purge: overrides %s, calls %s" % (registered(), calls))
        check(_run_maintainer_script(stubs, state, "postrm", "purge") == ["rm -rf /var/lib/clockwerk"],
              "a second purge did more than the rm")


def dpkg_state():
    """The package's state in dpkg ("installed", "config-files", "half-installed", ...; "not-installed")."""
    code, out = run(["dpkg-query", "-W", "-f=${db:Status-Status}", PACKAGE], ok=False)
    return out.strip() if code == 0 and out.strip() else "not-installed"


def read_marker():
    """The marker of a run that installed the package ({"user_before": bool, "group_before": bool}), or None."""
    try:
        with open(MARKER) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError:
        return {"user_before": True, "group_before": True}   # unreadable: remove nothing that may be someone's


def write_marker(marker):
    tmp = MARKER + ".tmp"
    with open(tmp, "w") as f:
        json.dump(marker, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, MARKER)


def group_exists():
    return any(g.gr_name == PACKAGE for g in grp.getgrall())


def undo_test_install(marker):
    """Purges the package if dpkg knows it, removes the user and group unless they existed before the run that
    wrote the marker, then the marker: a run killed half-way is cleaned up by the next."""
    if dpkg_state() != "not-installed":
        run(["apt-get", "purge", "-y", "-q", PACKAGE], timeout_s=deadline(180))
    if not marker["user_before"] and user_exists():
        run(["deluser", "--system", "--quiet", PACKAGE])
    if not marker["group_before"] and group_exists():
        run(["delgroup", "--system", "--quiet", PACKAGE])
    os.unlink(MARKER)


def refuse_foreign_install():
    """Fails when the machine has a clockwerk this test did not install: the purge would delete its data."""
    state = dpkg_state()
    check(state == "not-installed",
          "the %s package is on this machine (dpkg: %s) and this test did not install it (no %s): its purge would "
          "delete /etc/clockwerk and /var/lib/clockwerk. Run this test on a machine without Clockwerk installed, or "
          "`apt-get purge %s` first if it is a leftover" % (PACKAGE, state, MARKER, PACKAGE))
    left = [path for path in ("/etc/clockwerk", STATE_DIR) if os.path.lexists(path)]
    check(not left, "%s exist on this machine (an install by hand?) and this test did not make them (no %s): the "
          "package's purge would delete them. Move them away first" % (" and ".join(left), MARKER))


@alone
@plain_only("it builds and installs its own binaries (make deb); the sanitizer pass would repeat the same test")
@timeout(1200)
def test_package_install_run_purge():
    with machine_lock():
        marker = read_marker()
        if marker is not None:                     # a run killed before its cleanup
            note("cleaning up after a killed run (%s): %s" % (MARKER, marker))
            undo_test_install(marker)
        refuse_foreign_install()
        deb = build_deb()
        check_lintian(deb)
        marker = {"user_before": user_exists(), "group_before": group_exists()}
        write_marker(marker)                       # before the install: a kill from here on is undone next time
        try:
            install_run_purge(deb)
        finally:
            undo_test_install(marker)
