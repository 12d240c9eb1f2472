"""tests/e2e/test_install.py — `make install` / `make uninstall` (docs/install.md "From source") and what they
install, run for real from a DESTDIR under the test's directory:

- every file where the layout says (design §0, docs/install.md's table), nothing else, with modes 0755 for
  programs and 0644 for the configuration, man pages and docs; a DESTDIR install works as an unprivileged user;
  a LIBEXECDIR the programs could not find is refused;
- the installed supervisor, started from the DESTDIR tree with the installed sample configuration (its paths and
  port moved into the test's directory), starts the INSTALLED children (/proc/PID/exe in LIBEXECDIR), stores checks
  of a target on loopback and of the web's own /healthz in SQLite, and `clockwerk report` finds clockwerk-report
  in LIBEXECDIR too;
- the installed sample keeps run_dir's state (a silence) across a stop, the system emptying /run, and a start;
- a second install keeps a changed clockwerk.conf; uninstall removes every file install put there and keeps the
  changed clockwerk.conf (saying so), and removes it once it is the shipped sample again; it refuses while the
  unit it would remove is enabled (FORCE=1 overrides).
- the installed bash completion, loaded by bash-completion from BASHCOMPDIR (and sourced alone), completes
  subcommands, options, files and endpoint names (`clockwerk -c FILE --list-endpoints`), driven through
  COMP_WORDS/COMP_CWORD as bash drives it.

`make install` installs from the build under test: CLOCKWERK_BIN must be the repository's bin/ (BUILD=default) or
build/asan/bin (BUILD=asan); it builds nothing when `make all` ran before (as `make e2e` does).
"""

import glob
import os
import re
import shlex
import shutil
import stat
import subprocess

from harness import (Clockwerk, REPO, Sqlite, TestFailure, bin_dir, check, deadline, free_port, note,
                     tempdir, wait_for)
from targets import Targets

HELPERS = ("clockwerk-worker", "clockwerk-storer", "clockwerk-alerter", "clockwerk-relay", "clockwerk-web",
           "clockwerk-report")
USER_PROGRAMS = ("clockwerk", "clockwerk-tap")
NOBODY = 65534


def _build_var():
    """The BUILD= that makes `make install` take the binaries under test."""
    b = os.path.realpath(bin_dir())
    if b == os.path.realpath(os.path.join(REPO, "bin")):
        return []
    if b == os.path.realpath(os.path.join(REPO, "build", "asan", "bin")):
        return ["BUILD=asan"]
    raise TestFailure("CLOCKWERK_BIN=%s is neither bin/ nor build/asan/bin of %s: make install takes one of them"
                      % (b, REPO))


def make(target, destdir, *variables, as_nobody=False):
    """Runs `make TARGET DESTDIR=destdir VARIABLES` in the repository; returns (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    argv = ["make", "--no-print-directory", "-C", REPO, target, "DESTDIR=" + destdir] + _build_var() + list(variables)
    if as_nobody:
        argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"] + argv
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       timeout=deadline(300))
    out = p.stdout.decode("utf-8", "replace")
    print("$ %s\n%s" % (" ".join(argv), out[-3000:]), flush=True)
    return p.returncode, out


def install(destdir, *variables, as_nobody=False):
    rc, out = make("install", destdir, *variables, as_nobody=as_nobody)
    check(rc == 0, "make install %s failed (exit %d):\n%s" % (" ".join(variables), rc, out[-2000:]))
    return out


def repo_files(pattern):
    """Files of the repository matching a glob pattern (relative to the repository)."""
    return sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, pattern)))


def expected_layout(prefix, sysconfdir):
    """{path under DESTDIR: mode, or ('link', target)} of everything install should put there."""
    p = prefix.lstrip("/")
    files = {}
    for name in USER_PROGRAMS:
        files["%s/bin/%s" % (p, name)] = 0o755
    for name in HELPERS:
        files["%s/libexec/clockwerk/%s" % (p, name)] = 0o755
    files["%s/clockwerk/clockwerk.conf" % sysconfdir.lstrip("/")] = 0o644
    doc = "%s/share/doc/clockwerk" % p
    for f in ["README.md"] + repo_files("docs/*.md"):  # docs/ kept: the README's links to docs/*.md work
        files["%s/%s" % (doc, f)] = 0o644
    files[doc + "/examples/clockwerk.conf"] = 0o644
    files[doc + "/examples/probe.conf"] = 0o644
    for page in repo_files("man/*.[158]"):
        files["%s/share/man/man%s/%s" % (p, page[-1], os.path.basename(page))] = 0o644
    if os.path.exists(os.path.join(REPO, "etc/systemd/clockwerk.service.in")):
        files["%s/lib/systemd/system/clockwerk.service" % p] = 0o644
    if os.path.exists(os.path.join(REPO, "etc/bash-completion/clockwerk")):
        comp = "%s/share/bash-completion/completions" % p
        files[comp + "/clockwerk"] = 0o644
        files[comp + "/clockwerk-tap"] = ("link", "clockwerk")
    return files


def installed_files(destdir):
    """{path under DESTDIR: mode, or ('link', target)} of every file and link there."""
    found = {}
    for root, _dirs, names in os.walk(destdir):
        for n in names:
            path = os.path.join(root, n)
            rel = os.path.relpath(path, destdir)
            st = os.lstat(path)
            found[rel] = ("link", os.readlink(path)) if stat.S_ISLNK(st.st_mode) else stat.S_IMODE(st.st_mode)
    return found


def check_layout(destdir, prefix, sysconfdir):
    want, have = expected_layout(prefix, sysconfdir), installed_files(destdir)
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    wrong = sorted("%s: %s, not %s" % (f, _mode(have[f]), _mode(want[f])) for f in want if f in have
                   and have[f] != want[f])
    check(not missing and not extra and not wrong,
          "installed layout under %s: missing %s; unexpected %s; wrong modes %s" % (destdir, missing, extra, wrong))
    return want


def _mode(m):
    return "%04o" % m if isinstance(m, int) else "%s -> %s" % m


def _readable_by_others(path):
    """Whether every directory down to path lets other users in and path lets them read (make reads the tree)."""
    path = os.path.realpath(path)
    parts = [path] + [os.path.dirname(path)]
    while parts[-1] != "/":
        parts.append(os.path.dirname(parts[-1]))
    return all(os.stat(p).st_mode & 0o001 for p in parts) and os.stat(path).st_mode & 0o004


def _same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def test_install_layout_and_modes():
    """Every file where the layout says and nothing else, modes sane, the programs those of the build, the unit's
    directories substituted; the default PREFIX puts the configuration under /usr/local/etc; a DESTDIR install runs
    as an unprivileged user; a LIBEXECDIR the programs could not find is refused (fails before: no install rule)."""
    with tempdir() as d:
        usr = os.path.join(d, "usr-root")
        out = install(usr, "PREFIX=/usr")
        layout = check_layout(usr, "/usr", "/etc")
        for name in USER_PROGRAMS:
            check(_same_bytes(os.path.join(usr, "usr/bin", name), os.path.join(bin_dir(), name)),
                  "usr/bin/%s is not the %s of the build under test" % (name, name))
        for name in HELPERS:
            check(_same_bytes(os.path.join(usr, "usr/libexec/clockwerk", name), os.path.join(bin_dir(), name)),
                  "usr/libexec/clockwerk/%s is not the build's" % name)
        check(_same_bytes(os.path.join(usr, "etc/clockwerk/clockwerk.conf"), os.path.join(REPO, "etc/clockwerk.dist.conf")),
              "etc/clockwerk/clockwerk.conf is not etc/clockwerk.dist.conf")
        unit = os.path.join(usr, "usr/lib/systemd/system/clockwerk.service")
        if os.path.exists(unit):
            with open(unit) as f:
                text = f.read()
            check(not re.search(r"@(BINDIR|SYSCONFDIR|LIBEXECDIR)@", text), "the unit keeps a placeholder:\n" + text)
            check("/usr/bin/clockwerk" in text and "/etc/clockwerk/clockwerk.conf" in text,
                  "the unit does not name /usr/bin/clockwerk and /etc/clockwerk/clockwerk.conf:\n" + text)
        else:
            note("etc/systemd/clockwerk.service.in is not in this tree: the unit's install is not checked")
        check("installed under" in out, "make install says nothing at the end:\n" + out)
        n_files = len(layout)

        # the default PREFIX: /usr/local, the configuration under /usr/local/etc
        local = os.path.join(d, "local-root")
        install(local)
        check_layout(local, "/usr/local", "/usr/local/etc")

        # no root needed for a staged install (the build is there already)
        if os.getuid() == 0 and not _readable_by_others(REPO):
            note("the repository is not readable by other users: the unprivileged install is not tried")
        elif os.getuid() == 0:
            staged = os.path.join(d, "nobody-root")
            os.makedirs(staged)
            os.chown(staged, NOBODY, NOBODY)
            os.chmod(d, 0o755)
            install(staged, "PREFIX=/usr", as_nobody=True)
            check_layout(staged, "/usr", "/etc")
            owners = {os.lstat(os.path.join(r, n)).st_uid for r, _ds, ns in os.walk(staged) for n in ns}
            check(owners == {NOBODY}, "files of the unprivileged install owned by %s" % owners)
        else:
            note("not root: the whole test ran as uid %d" % os.getuid())

        # a LIBEXECDIR that clockwerk could not find: refused, nothing installed
        odd = os.path.join(d, "odd-root")
        rc, out = make("install", odd, "PREFIX=/usr", "LIBEXECDIR=/opt/clockwerk")
        check(rc != 0 and "LIBEXECDIR=/opt/clockwerk cannot work" in out,
              "LIBEXECDIR=/opt/clockwerk: exit %d, output:\n%s" % (rc, out[-1500:]))
        check(not os.path.exists(odd), "a refused install left files in %s" % odd)
        # a BINDIR alone moves where the helpers must be: the refusal says what to set
        rc, out = make("install", odd, "PREFIX=/usr", "BINDIR=/opt/cw/bin")
        check(rc != 0 and "set LIBEXECDIR=/opt/cw/libexec/clockwerk" in out and not os.path.exists(odd),
              "BINDIR=/opt/cw/bin alone: exit %d, output:\n%s" % (rc, out[-1500:]))
        # a directory the unit's lines cannot carry unquoted (a space, '%', '$', ...): refused, and said why
        for bad in ("PREFIX=/opt/my cw", "BINDIR=/opt/cw%/bin", "SYSCONFDIR=/etc/cw;x"):
            rc, out = make("install", odd, bad)
            check(rc != 0 and "%s=" % bad.split("=")[0] in out and not os.path.exists(odd),
                  "%s: exit %d, output:\n%s" % (bad, rc, out[-1500:]))
        # BINDIR as LIBEXECDIR (every program side by side) is a layout that works
        flat = os.path.join(d, "flat-root")
        install(flat, "PREFIX=/opt/cw", "LIBEXECDIR=/opt/cw/bin")
        for name in USER_PROGRAMS + HELPERS:
            check(os.path.isfile(os.path.join(flat, "opt/cw/bin", name)), "LIBEXECDIR=BINDIR: no opt/cw/bin/" + name)
        note("%d files installed with PREFIX=/usr" % n_files)


def _sample_for_test(text, d, port, target_url):
    """The installed sample with its system paths moved under d (/var/lib/clockwerk/... -> d/var/lib/clockwerk/...,
    /run/... -> d/run/...: what the system empties at a stop or a reboot stays apart from what it keeps) and its
    port, checking every 1 s, plus one endpoint on the test's target. d/var/lib/clockwerk is made, as the unit's
    StateDirectory= and the package make it."""
    subs = [('"/var/lib/clockwerk/', '"%s/var/lib/clockwerk/' % d), ('"/run/', '"%s/run/' % d),
            ("127.0.0.1:8080", "127.0.0.1:%d" % port), ("check_interval = 60;", "check_interval = 1;"),
            ('name = "clockwerk web"; timeout = 5;', 'name = "clockwerk web"; timeout = 1;')]
    for old, new in subs[2:]:
        check(old in text, "the installed sample no longer has %s: update this test" % old)
    for old, new in subs:
        text = text.replace(old, new)
    check(not re.search(r'"/(?!/)', text.replace('"%s/' % d, "")),
          "the installed sample names a system path this test does not move: update this test")
    os.makedirs(os.path.join(d, "var/lib/clockwerk"), 0o750, exist_ok=True)
    healthz = 'name = "clockwerk web"; timeout = 1; }'
    check(healthz in text, "the installed sample no longer checks its web's /healthz as 'clockwerk web'")
    return text.replace(healthz, healthz + '\n    , { url = "%s"; name = "target"; timeout = 1; }' % target_url)


def test_installed_supervisor_runs_installed_children():
    """The supervisor of the DESTDIR tree, with the installed sample configuration (paths and port moved into the
    test's directory), runs its children from LIBEXECDIR (their /proc/PID/exe), stores the checks of a target and of
    the web's own /healthz, and `clockwerk report` runs the installed clockwerk-report (fails before the program
    lookup: the supervisor looked for clockwerk-worker beside itself, in usr/bin, and started no child)."""
    with tempdir() as d, Targets() as t:
        root = os.path.join(d, "root")
        install(root, "PREFIX=/usr")
        bindir, libexec = os.path.join(root, "usr/bin"), os.path.join(root, "usr/libexec/clockwerk")
        with open(os.path.join(root, "etc/clockwerk/clockwerk.conf")) as f:
            sample = f.read()
        rc = subprocess.run([os.path.join(bindir, "clockwerk"), "-t", "-c", os.path.join(root, "etc/clockwerk/clockwerk.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=deadline(30))
        check(rc.returncode == 0 and b"config OK: 1 endpoint, 2 workers" in rc.stdout,
              "clockwerk -t on the installed sample: %r" % rc.stdout)
        port = free_port()
        cfg = _sample_for_test(sample, d, port, t.url("/ok"))
        titles = ["clockwerk: worker 0/2", "clockwerk: worker 1/2", "clockwerk: storer", "clockwerk: alerter",
                  "clockwerk: relay", "clockwerk: web"]
        with Clockwerk(cfg, d, bin_dir=bindir) as cw:
            kids = cw.wait_ready(titles=titles)
            for title, pid in sorted(kids.items()):
                exe = os.readlink("/proc/%d/exe" % pid)
                kind = title.split(": ")[1].split(" ")[0]
                check(exe == os.path.join(libexec, "clockwerk-" + kind),
                      "%s (pid %d) runs %s, not the installed %s/clockwerk-%s" % (title, pid, exe, libexec, kind))
            check(os.readlink("/proc/%d/exe" % cw.pid) == os.path.join(bindir, "clockwerk"),
                  "the supervisor is not the installed one")
            db = Sqlite(os.path.join(d, "var/lib/clockwerk/clockwerk.db"))
            healthz = "http://127.0.0.1:%d/healthz" % port

            def stored_ok(url):
                return (db.try_query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                     "WHERE e.url = ? AND c.ok = 1", (url,)) or [[0]])[0][0]
            wait_for(lambda: stored_ok(t.url("/ok")) >= 2, deadline(30), "2 stored checks of %s" % t.url("/ok"))
            wait_for(lambda: stored_ok(healthz) >= 1, deadline(30),
                     "a stored successful check of the web's own %s" % healthz)
            rep = subprocess.run([os.path.join(bindir, "clockwerk"), "report", "-c", cw.conf_path, "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=deadline(60))
            check(rep.returncode == 0 and b'"target"' in rep.stdout,
                  "clockwerk report from the installed tree: exit %d\n%s\n%s"
                  % (rep.returncode, rep.stdout[-800:], rep.stderr[-800:]))
            cw.stop()


def _installed_cli(bindir, conf, *args):
    p = subprocess.run([os.path.join(bindir, "clockwerk"), "-c", conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=deadline(30))
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    check(p.returncode == 0, "clockwerk %s: exit %d\n%s%s" % (" ".join(args), p.returncode, out, err))
    return out


def test_installed_sample_keeps_state_across_stop_and_start():
    """With the installed sample, what run_dir holds that must outlive a stop (here a silence; the alerter's open
    incidents and the spools live beside it) survives a stop, the system emptying /run (systemd removes a
    RuntimeDirectory= at stop, a reboot loses the tmpfs) and a start (fails before: run_dir was /run/clockwerk, and
    the silence was gone after the restart)."""
    alerter = ["clockwerk: alerter"]
    with tempdir() as d, Targets() as t:
        root = os.path.join(d, "root")
        install(root, "PREFIX=/usr")
        bindir = os.path.join(root, "usr/bin")
        with open(os.path.join(root, "etc/clockwerk/clockwerk.conf")) as f:
            cfg = _sample_for_test(f.read(), d, free_port(), t.url("/ok"))
        with Clockwerk(cfg, d, bin_dir=bindir) as cw:
            cw.wait_ready(titles=alerter)
            cw.wait_log(r"alerter running")
            out = _installed_cli(bindir, cw.conf_path, "silence", "add", "target", "--for", "2h", "--reason", "kept")
            m = re.search(r"added silence ([0-9a-f]{16})\b", out)
            check(m, "no silence id in %r" % out)
            cw.stop()
        shutil.rmtree(os.path.join(d, "run"), ignore_errors=True)
        with Clockwerk(cfg, d, name="again", bin_dir=bindir) as cw:     # a log of its own: wait_log sees this start
            cw.wait_ready(titles=alerter)
            cw.wait_log(r"alerter running")
            listed = _installed_cli(bindir, cw.conf_path, "silence", "list", "--json")
            check(m.group(1) in listed, "the silence %s added before the stop is gone after the start "
                  "(run_dir on a directory the system empties?): %s" % (m.group(1), listed))
            cw.stop()


def test_reinstall_keeps_config_and_uninstall_removes_the_rest():
    """A changed clockwerk.conf survives a second install (which says so); uninstall removes every other file
    install put there and keeps the changed configuration, saying so; once it is the shipped sample again,
    uninstall removes it and Clockwerk's own directories (fails before: no install or uninstall rule)."""
    with tempdir() as d:
        root = os.path.join(d, "root")
        install(root)  # the default PREFIX, /usr/local
        conf = os.path.join(root, "usr/local/etc/clockwerk/clockwerk.conf")
        with open(conf, "a") as f:
            f.write('# changed by the operator\n')
        with open(conf, "rb") as f:
            changed = f.read()
        out = install(root)
        with open(conf, "rb") as f:
            check(f.read() == changed, "a second make install overwrote the changed clockwerk.conf")
        check(re.search(r"kept \S*clockwerk\.conf", out), "the second install does not say it kept the file:\n" + out)
        check_layout(root, "/usr/local", "/usr/local/etc")

        rc, out = make("uninstall", root)
        check(rc == 0, "make uninstall failed (exit %d):\n%s" % (rc, out))
        left = installed_files(root)
        check(sorted(left) == ["usr/local/etc/clockwerk/clockwerk.conf"],
              "after uninstall with a changed clockwerk.conf, left: %s" % sorted(left))
        check(re.search(r"kept \S*clockwerk\.conf: it differs", out), "uninstall does not say it kept it:\n" + out)
        for gone in ("usr/local/libexec/clockwerk", "usr/local/share/doc/clockwerk"):
            check(not os.path.exists(os.path.join(root, gone)), "uninstall left the directory " + gone)

        shutil.copyfile(os.path.join(REPO, "etc/clockwerk.dist.conf"), conf)
        rc, out = make("uninstall", root)
        check(rc == 0, "make uninstall failed (exit %d):\n%s" % (rc, out))
        check(not installed_files(root), "after uninstall with the shipped sample, left: %s" % installed_files(root))
        check(not os.path.exists(os.path.join(root, "usr/local/etc/clockwerk")),
              "uninstall left the directory usr/local/etc/clockwerk")
        rc, out = make("uninstall", root)
        check(rc == 0, "a second make uninstall (nothing installed) failed (exit %d):\n%s" % (rc, out))


def _enable_unit(root, unitdir):
    """What `systemctl enable clockwerk` leaves in root (through systemctl --root when it can): the link."""
    link = os.path.join(root, "etc/systemd/system/multi-user.target.wants/clockwerk.service")
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "--root=" + root, "enable", "clockwerk.service"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=deadline(30))
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join(unitdir, "clockwerk.service"), link)
    return link


def test_uninstall_refuses_while_the_unit_is_enabled():
    """make uninstall with the unit it would remove still enabled (its link under DESTDIR/etc/systemd/system)
    removes nothing and says to run `systemctl disable --now clockwerk` first; once disabled it uninstalls; FORCE=1
    uninstalls anyway, saying so (fails before: the unit was removed under an enabled, maybe running, service)."""
    if not os.path.exists(os.path.join(REPO, "etc/systemd/clockwerk.service.in")):
        note("no unit in this tree: nothing to check")
        return
    with tempdir() as d:
        root = os.path.join(d, "root")
        install(root)
        unit = os.path.join(root, "usr/local/lib/systemd/system/clockwerk.service")
        link = _enable_unit(root, "/usr/local/lib/systemd/system")
        before = installed_files(root)
        rc, out = make("uninstall", root)
        check(rc != 0 and "systemctl disable --now clockwerk" in out and "nothing removed" in out,
              "make uninstall with the unit enabled: exit %d\n%s" % (rc, out))
        check(installed_files(root) == before, "a refused uninstall removed %s" % sorted(set(before) - set(
            installed_files(root))))
        os.unlink(link)                          # systemctl disable
        rc, out = make("uninstall", root)
        check(rc == 0 and not os.path.exists(unit), "make uninstall once disabled: exit %d\n%s" % (rc, out))

        install(root)
        _enable_unit(root, "/usr/local/lib/systemd/system")
        rc, out = make("uninstall", root, "FORCE=1")
        check(rc == 0 and not os.path.exists(unit) and "FORCE=1" in out,
              "make uninstall FORCE=1 with the unit enabled: exit %d\n%s" % (rc, out))


# Loads the installed completion the way bash-completion does on a first <Tab> (from XDG_DATA_DIRS, by the
# command's name), then runs each case as bash would: COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT set, the function
# that `complete -p` names called with the command, the word and the one before; prints COMPREPLY.
BASH_DRIVER = r'''
if [ "$2" = alone ]; then
    source "$1/usr/share/bash-completion/completions/clockwerk" || echo "NOT LOADED by hand"
else
    source /usr/share/bash-completion/bash_completion || { echo "NO bash-completion"; exit 3; }
    export XDG_DATA_DIRS="$1/usr/share"
    __load_completion clockwerk || echo "NOT LOADED clockwerk"
    __load_completion clockwerk-tap || echo "NOT LOADED clockwerk-tap"
fi
echo "SPEC $(complete -p clockwerk 2>&1)"
echo "SPEC $(complete -p clockwerk-tap 2>&1)"
run_case() {
    local name=$1 func
    COMP_LINE=$2 COMP_POINT=${#2}
    shift 2
    COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()
    func=$(complete -p "${COMP_WORDS[0]##*/}" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
    "$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf 'CASE %s\n' "$name"
    for r in "${COMPREPLY[@]}"; do printf 'R %s\n' "$r"; done
}
'''


def _completion_cases(clockwerk, tap, conf, bad_conf, d):
    """name -> (command line, COMP_WORDS as bash splits them (':' and '=' are word breaks)). The line ends where
    the cursor is."""
    def plain(*words):
        return (" ".join(words), list(words))
    return {
        "subcommands": plain(clockwerk, ""),
        "options": plain(clockwerk, "--li"),
        "config file": plain(clockwerk, "-c", os.path.join(d, "comp")),
        "report endpoints": plain(clockwerk, "-c", conf, "report", "--endpoint", ""),
        "report endpoint prefix": plain(clockwerk, "report", "-c", conf, "--endpoint", "al"),
        "report since": plain(clockwerk, "report", "-c", conf, "--since", ""),
        "silence actions": plain(clockwerk, "-c", conf, "silence", ""),
        "silence add endpoint": plain(clockwerk, "-c", conf, "silence", "add", "b"),
        "silence add escaped": plain(clockwerk, "-c", conf, "silence", "add", "alpha\\ "),
        "silence add quoted": plain(clockwerk, "-c", conf, "silence", "add", '"al'),
        "silence add options": plain(clockwerk, "-c", conf, "silence", "add", "--f"),
        "config= form": ("%s --config=%s silence add b" % (clockwerk, conf),
                         [clockwerk, "--config", "=", conf, "silence", "add", "b"]),
        "url after colon": ("%s -c %s report --endpoint http://127" % (clockwerk, conf),
                            [clockwerk, "-c", conf, "report", "--endpoint", "http", ":", "//127"]),
        "status options": plain(clockwerk, "status", "--"),
        "unreadable config": plain(clockwerk, "-c", bad_conf, "report", "--endpoint", ""),
        "tap options": plain(tap, "--st"),
        "tap config file": plain(tap, "-c", os.path.join(d, "comp")),
    }


def _run_completion(root, cases, alone=False):
    script = BASH_DRIVER + "".join(
        "run_case %s %s %s\n" % (shlex.quote(name), shlex.quote(line), " ".join(shlex.quote(w) for w in words))
        for name, (line, words) in cases.items())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "LANG": "C.UTF-8", "TERM": "dumb"}
    p = subprocess.run(["bash", "--norc", "--noprofile", "-s", root, "alone" if alone else "loader"], input=script.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=deadline(60))
    out = p.stdout.decode("utf-8", "replace")
    print(out, p.stderr.decode("utf-8", "replace"))
    check(p.returncode == 0 and "NOT LOADED" not in out and "NO bash-completion" not in out,
          "bash did not load the installed completion (exit %d):\n%s%s" % (p.returncode, out, p.stderr.decode()))
    specs = re.findall(r"^SPEC (.*)$", out, re.M)
    replies, name = {}, None
    for line in out.splitlines():
        if line.startswith("CASE "):
            name = line[5:]
            replies[name] = []
        elif line.startswith("R ") and name is not None:
            replies[name].append(line[2:])
    return specs, replies, p.stderr.decode("utf-8", "replace")


def test_bash_completion_from_the_installed_file():
    """The installed completion, loaded by bash-completion from BASHCOMPDIR for clockwerk and (through the link)
    clockwerk-tap, completes subcommands, options, files and the endpoint names of the -c configuration as the
    installed `clockwerk -c FILE --list-endpoints` prints them (names, an unnamed endpoint's URL, never a URL with
    a password); quoted, escaped and colon-broken words; nothing (and no noise) for an unreadable config (fails
    before: no completion file, no --list-endpoints)."""
    with tempdir() as d:
        root = os.path.join(d, "root")
        install(root, "PREFIX=/usr")
        clockwerk = os.path.join(root, "usr/bin/clockwerk")
        tap = os.path.join(root, "usr/bin/clockwerk-tap")
        conf = os.path.join(d, "completion.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600)  # it holds a URL with a password: private
        with os.fdopen(fd, "w") as f:
            f.write('supervisor = { workers = 1; run_dir = "run"; };\n'
                    'monitor = { endpoints = (\n'
                    '  { url = "http://127.0.0.1:9/a"; name = "alpha api"; },\n'
                    '  { url = "http://127.0.0.1:9/b"; name = "beta"; },\n'
                    '  { url = "http://127.0.0.1:9/x"; },\n'
                    '  { url = "http://user:sekrit@127.0.0.1:9/y"; }\n'
                    '); };\n')
        names = ["alpha api", "beta", "http://127.0.0.1:9/x"]

        # the option itself, from the installed program
        p = subprocess.run([clockwerk, "-c", conf, "--list-endpoints"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=deadline(30))
        check(p.returncode == 0 and p.stdout.decode().splitlines() == names and not p.stderr,
              "--list-endpoints: exit %d, stdout %r, stderr %r" % (p.returncode, p.stdout, p.stderr))
        bad_conf = os.path.join(d, "bad.conf")
        with open(bad_conf, "w") as f:
            f.write("monitor = { endpoints = ( { url = 3; } ); };\n")
        p = subprocess.run([clockwerk, "-c", bad_conf, "--list-endpoints"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=deadline(30))
        check(p.returncode == 1 and not p.stdout and b"bad.conf:1" in p.stderr,
              "--list-endpoints on an invalid file: exit %d, stdout %r, stderr %r" % (p.returncode, p.stdout, p.stderr))
        p = subprocess.run([clockwerk, "--help"], stdout=subprocess.PIPE, timeout=deadline(30))
        check(b"--list-endpoints" in p.stdout, "clockwerk --help does not show --list-endpoints")

        specs, got, stderr = _run_completion(root, _completion_cases(clockwerk, tap, conf, bad_conf, d))
        check(specs == ["complete -F _clockwerk clockwerk", "complete -F _clockwerk_tap clockwerk-tap"],
              "complete -p after loading: %s" % specs)
        want = {
            "subcommands": ["report", "status", "silence", "ack", "keygen"],
            "options": ["--list-endpoints"],
            "config file": [conf],
            "report endpoints": ["alpha\\ api", "beta", "http://127.0.0.1:9/x"],
            "report endpoint prefix": ["alpha\\ api"],
            "report since": ["24h", "7d", "30d", "90d"],
            "silence actions": ["add", "list", "remove"],
            "silence add endpoint": ["beta"],
            "silence add escaped": ["alpha\\ api"],
            "silence add quoted": ["alpha api"],
            "silence add options": ["--for"],
            "config= form": ["beta"],
            "url after colon": ["//127.0.0.1:9/x"],  # bash replaces the part after the last ':'
            "unreadable config": [],
            "tap options": ["--stats"],
            "tap config file": [conf],
        }
        wrong = ["%s: got %s, want %s" % (k, got.get(k), v) for k, v in want.items() if got.get(k) != v]
        status = got.get("status options") or []
        if not {"--json", "--config", "--help"} <= set(status):
            wrong.append("status options: got %s" % status)
        check(not wrong, "completions:\n  " + "\n  ".join(wrong))
        check("sekrit" not in repr(got) and not stderr.strip(),
              "a password or error output in the completion: %s / %r" % (got, stderr))

        # sourced by hand, without bash-completion: bash's own words
        cases = _completion_cases(clockwerk, tap, conf, bad_conf, d)
        cases = {k: cases[k] for k in ("subcommands", "config file", "report endpoints", "silence add escaped",
                                       "tap options")}
        specs, got, stderr = _run_completion(root, cases, alone=True)
        check(specs == ["complete -F _clockwerk clockwerk", "complete -F _clockwerk_tap clockwerk-tap"],
              "complete -p after sourcing the file: %s" % specs)
        wrong = ["%s: got %s, want %s" % (k, got.get(k), want[k]) for k in cases if got.get(k) != want[k]]
        check(not wrong and not stderr.strip(), "completions without bash-completion:\n  " + "\n  ".join(wrong)
              + stderr)
