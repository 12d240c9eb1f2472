"""tests/e2e/imagefs.py — the container image's root filesystem without a container runtime (test_image.py).

No container runtime runs on the project's build machine. This module builds the SAME root filesystem as the
runtime stage of the Dockerfile and runs it the way a runtime would:

  runtime_plan(path)          the Dockerfile's last stage, parsed: base image, COPY and RUN steps in order, USER,
                              VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD. An instruction this module does not
                              know is an error (ImageError): the test cannot silently skip part of the image.
  build_rootfs(plan, ...)     a tarball of the root filesystem, in two cached layers under build/image/:
                                base     mmdebstrap of the FROM image (debian:12-slim: bookworm, variant minbase,
                                         the slim image's dpkg path exclusions), from the mirrors this machine's
                                         apt uses; keyed by mmdebstrap's version and these options
                                runtime  the base + each COPY source at its destination + each RUN executed in a
                                         chroot (mmdebstrap --variant=custom over the base tarball, so the network,
                                         /proc and /dev are set up the way mmdebstrap sets them for its hooks);
                                         keyed by the base's key, the stage's text and the SHA-256 of every COPY
                                         source (the .deb, etc/container/runtime-packages)
                              a rerun with the same inputs only unpacks the tarball.
  Container(tarball, plan)    unpacks it and runs ENTRYPOINT + CMD as USER in new mount and PID namespaces
                              (unshare) under chroot: a /dev of its own (tmpfs with the usual nodes bound in),
                              /proc of its PID namespace, /sys read-only, files bound in like compose's volumes and
                              secrets. The network namespace is the host's: the program reaches servers on
                              127.0.0.1 and the test reaches it. exec() runs a command inside (the HEALTHCHECK).
                              stop() sends SIGTERM to its PID 1 (the supervisor); cleanup() kills what is left
                              and removes the tree — the mounts live in the private mount namespace only, so
                              they go with its last process and none is ever left on the host.
"""

import fcntl
import glob
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time

from hbase import PROCESSES, REPO, list_children, proc_alive, proc_starttime, wait_for

CACHE_DIR = os.path.join(REPO, "build", "image")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"   # what docker gives a container

# debuerreotype's "slim" exclusions, which make debian:12-slim out of the minbase set
SLIM_DPKG_OPTS = ["path-exclude=/usr/share/doc/*", "path-include=/usr/share/doc/*/copyright",
                  "path-exclude=/usr/share/groff/*", "path-exclude=/usr/share/info/*",
                  "path-exclude=/usr/share/linda/*", "path-exclude=/usr/share/lintian/overrides/*",
                  "path-exclude=/usr/share/locale/*", "path-include=/usr/share/locale/locale.alias",
                  "path-exclude=/usr/share/man/*"]
BASE_IMAGES = {"debian:12-slim": {"suite": "bookworm", "variant": "minbase", "dpkgopts": SLIM_DPKG_OPTS}}
KNOWN = ("FROM", "COPY", "RUN", "USER", "VOLUME", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "LABEL")


class ImageError(Exception):
    """The Dockerfile uses something this module cannot reproduce, or a build step failed."""


# ------------------------------------------------------------------------------------------ the Dockerfile

def read_instructions(path):
    """[(KEYWORD, arguments, line number)] of a Dockerfile: comments dropped, continuation lines joined."""
    out, parts, start = [], [], 0
    with open(path) as f:
        lines = f.read().split("\n")
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith("#") or (not line and not parts):
            continue
        if not parts:
            start = no
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        text = " ".join(p for p in parts if p)
        parts = []
        word, _, rest = text.partition(" ")
        out.append((word.upper(), rest.strip(), start))
    if parts:
        raise ImageError("%s: the file ends inside a continued instruction" % path)
    return out


def _exec_form(args, what, no):
    try:
        argv = json.loads(args)
    except ValueError:
        argv = None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ImageError("line %d: %s must be in exec form, a JSON array of strings" % (no, what))
    return argv


def _options(args):
    """(options {name: value}, rest) of `--name=value ... rest`."""
    opts = {}
    words = args.split()
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        opts[name] = value
    return opts, " ".join(words)


class Plan:
    """The runtime stage: base, steps [("copy", from_stage, src, dest) | ("run", text)], and the settings."""

    def __init__(self):
        self.base = None
        self.steps = []
        self.user = None
        self.volumes = []
        self.expose = []
        self.healthcheck = None
        self.entrypoint = []
        self.cmd = []
        self.build_stage_text = ""

    def argv(self):
        return self.entrypoint + self.cmd


def runtime_plan(path):
    """The Plan of the Dockerfile's last stage; ImageError for anything this module cannot reproduce."""
    stages = []
    for word, args, no in read_instructions(path):
        if word == "FROM":
            stages.append([])
        if not stages:
            raise ImageError("line %d: %s before the first FROM" % (no, word))
        stages[-1].append((word, args, no))
    if len(stages) < 2:
        raise ImageError("%s: no build stage before the runtime stage" % path)
    plan = Plan()
    plan.build_stage_text = "\n".join("%s %s" % (w, a) for st in stages[:-1] for w, a, _ in st)
    for word, args, no in stages[-1]:
        if word not in KNOWN:
            raise ImageError("line %d: %s in the runtime stage: imagefs.py does not reproduce it yet" % (no, word))
        if word == "FROM":
            image = args.split()[0]
            if image not in BASE_IMAGES:
                raise ImageError("line %d: FROM %s: imagefs.py builds only %s" % (no, image, sorted(BASE_IMAGES)))
            plan.base = image
        elif word == "COPY":
            opts, rest = _options(args)
            if set(opts) - {"from"}:
                raise ImageError("line %d: COPY options other than --from" % no)
            words = rest.split()
            if len(words) != 2:
                raise ImageError("line %d: COPY of one source to one destination only" % no)
            plan.steps.append(("copy", opts.get("from"), words[0], words[1]))
        elif word == "RUN":
            if args.startswith("["):
                raise ImageError("line %d: RUN in exec form" % no)
            if plan.user:
                raise ImageError("line %d: RUN after USER" % no)
            plan.steps.append(("run", args))
        elif word == "USER":
            plan.user = args
        elif word == "VOLUME":
            plan.volumes += _exec_form(args, "VOLUME", no) if args.startswith("[") else args.split()
        elif word == "EXPOSE":
            plan.expose += [int(p.split("/")[0]) for p in args.split()]
        elif word == "HEALTHCHECK":
            opts, rest = _options(args)
            if not rest.startswith("CMD "):
                raise ImageError("line %d: HEALTHCHECK without CMD" % no)
            plan.healthcheck = _exec_form(rest[4:].strip(), "HEALTHCHECK CMD", no)
        elif word == "ENTRYPOINT":
            plan.entrypoint = _exec_form(args, "ENTRYPOINT", no)
        elif word == "CMD":
            plan.cmd = _exec_form(args, "CMD", no)
    if not plan.user or not plan.argv():
        raise ImageError("%s: the runtime stage needs USER and ENTRYPOINT/CMD" % path)
    return plan


# ------------------------------------------------------------------------------------- building the tree

def host_debian_mirrors(suite):
    """One-line apt sources for suite, suite-updates and suite-security from this machine's own apt sources
    (deb822 *.sources and one-line lists), so mmdebstrap fetches from the mirror apt here uses."""
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for block in f.read().split("\n\n"):
                fields = {}
                for line in block.split("\n"):
                    if line and not line.startswith("#") and ":" in line and not line[0].isspace():
                        k, _, v = line.partition(":")
                        fields[k.strip().lower()] = v.strip()
                if fields.get("enabled", "yes") != "no" and "deb" in fields.get("types", "").split():
                    for uri in fields.get("uris", "").split():
                        for s in fields.get("suites", "").split():
                            entries.append((uri, s, fields.get("components", "main")))
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as f:
                lines = f.read().split("\n")
        except OSError:
            continue
        for line in lines:
            words = [w for w in line.split("#")[0].split() if not w.startswith("[")]
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], words[2], " ".join(words[3:]) or "main"))
    wanted = (suite, suite + "-updates", suite + "-security")
    found = ["deb %s %s %s" % (u, s, c) for u, s, c in entries if s in wanted]
    if not any(line.split()[2] == suite for line in found):
        raise ImageError("this machine's apt has no source for %s (/etc/apt/sources.list*)" % suite)
    return sorted(set(found), key=lambda line: wanted.index(line.split()[2]))


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:20]


def _mmdebstrap(args, log_path):
    """Runs mmdebstrap (root mode) in a mount namespace of its own, its temporary tree under the cache."""
    tmp = os.path.join(CACHE_DIR, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)        # what a killed earlier run left
    os.makedirs(tmp)
    env = dict(os.environ, TMPDIR=tmp)
    argv = ["unshare", "--mount", "--propagation", "private", "mmdebstrap", "--mode=root", "--format=tar"] + args
    with open(log_path, "w") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        PROCESSES.add(p.pid)
        rc = p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    if rc != 0:
        with open(log_path) as f:
            raise ImageError("mmdebstrap failed (%d):\n%s" % (rc, "".join(f.readlines()[-30:])))


def _cached(prefix, key, build):
    """CACHE_DIR/PREFIX-KEY.tar, built by build(partial_path) when absent; older PREFIX-*.tar are removed."""
    path = os.path.join(CACHE_DIR, "%s-%s.tar" % (prefix, key))
    if os.path.exists(path):
        return path, False
    partial = path + ".partial"
    build(partial)
    os.replace(partial, path)
    for old in glob.glob(os.path.join(CACHE_DIR, prefix + "-*.tar*")):
        if old != path:
            os.unlink(old)
    return path, True


def build_rootfs(plan, stage_sources):
    """(tarball of the runtime stage's root filesystem, [layers built this time]). stage_sources maps a
    `COPY --from=STAGE SRC` source "STAGE:SRC" to the host file standing for it (the .deb `make deb` built);
    other COPY sources are the repository's files (the build context)."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    with open(os.path.join(CACHE_DIR, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # one build at a time in this tree
        base = BASE_IMAGES[plan.base]
        mirrors = host_debian_mirrors(base["suite"])
        version = subprocess.run(["mmdebstrap", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
        base_key = _key({"image": plan.base, "base": base, "mirrors": mirrors, "mmdebstrap": version, "v": 1})
        opts = ["--variant=" + base["variant"]] + ["--dpkgopt=" + o for o in base["dpkgopts"]]
        base_tar, built_base = _cached("base", base_key, lambda out: _mmdebstrap(
            opts + [base["suite"], out] + mirrors, os.path.join(CACHE_DIR, "base.log")))
        hooks, inputs = [], []
        for step in plan.steps:
            if step[0] == "run":
                inputs.append(["run", step[1]])
                hooks.append("chroot \"$1\" /usr/bin/env -i PATH=%s HOME=/root /bin/sh -c %s"
                             % (DEFAULT_PATH, shlex.quote(step[1])))
                continue
            _, stage, src, dest = step
            host = stage_sources.get("%s:%s" % (stage, src)) if stage else os.path.join(REPO, src)
            if not host or not os.path.isfile(host):
                raise ImageError("COPY %s%s: no file stands for it here" % ("--from=%s " % stage if stage else "", src))
            if dest.endswith("/"):
                dest += os.path.basename(src)
            inputs.append(["copy", dest, _sha256_file(host)])
            d, h = shlex.quote(dest), shlex.quote(host)
            hooks.append("mkdir -p \"$1\"%s && cp %s \"$1\"%s && chown 0:0 \"$1\"%s"
                         % (shlex.quote(os.path.dirname(dest)), h, d, d))
        # What RUN leaves in /run and /tmp stays, as in an image (mmdebstrap would empty them at its end).
        args = ["--variant=custom", "--skip=update", "--skip=cleanup/run", "--skip=cleanup/tmp"]
        runtime_key = _key({"base": base_key, "steps": inputs, "args": args, "v": 1})
        setup = "tar -C \"$1\" -xf %s --exclude=./dev/*" % shlex.quote(base_tar)
        args.append("--setup-hook=" + setup)
        args += ["--customize-hook=" + h for h in hooks] + ["", "OUT"]
        runtime_tar, built_runtime = _cached("runtime", runtime_key, lambda out: _mmdebstrap(
            args[:-1] + [out], os.path.join(CACHE_DIR, "runtime.log")))
        built = [name for name, b in (("base", built_base), ("runtime", built_runtime)) if b]
        return runtime_tar, built


# ----------------------------------------------------------------------------------- running the container

def passwd_entry(root, user):
    """(uid, gid, home, [supplementary gids]) of user in the tree's /etc/passwd and /etc/group."""
    with open(os.path.join(root, "etc/passwd")) as f:
        rows = [line.split(":") for line in f.read().split("\n") if line]
    match = [r for r in rows if r[0] == user or r[2] == user]
    if not match:
        raise ImageError("USER %s: not in the image's /etc/passwd" % user)
    name, uid, gid, home = match[0][0], int(match[0][2]), int(match[0][3]), match[0][5]
    groups = {gid}
    with open(os.path.join(root, "etc/group")) as f:
        for line in f.read().split("\n"):
            g = line.split(":")
            if len(g) == 4 and name in g[3].split(","):
                groups.add(int(g[2]))
    return uid, gid, home, sorted(groups)


_DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")

_START = r"""set -eu
R=$1; shift
mount -t tmpfs -o nosuid,mode=0755 tmpfs "$R/dev"
for n in %(nodes)s; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mkdir "$R/dev/shm" "$R/dev/pts"; mount -t tmpfs -o nosuid,nodev,mode=1777,size=64m shm "$R/dev/shm"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
%(binds)s
exec chroot --userspec=%(uid)d:%(gid)d --groups=%(groups)s "$R" /usr/bin/env -i %(env)s "$@"
"""


class Container:
    """One run of the image's root filesystem: Container(tarball, plan, directory, binds).start() ...
    binds: [(host path, path inside, read_only)] — files or directories, like compose's volumes and secrets."""

    def __init__(self, tarball, plan, directory, binds):
        self.tarball, self.plan, self.dir, self.binds = tarball, plan, directory, binds
        self.root = os.path.join(directory, "rootfs")
        self.log_path = os.path.join(directory, "container.log")        # the container's stderr
        self.out_path = os.path.join(directory, "container-stdout.log")
        self.proc = None
        self.init_pid = None
        self.user = None

    def unpack(self):
        os.makedirs(self.root)
        subprocess.run(["tar", "-C", self.root, "--numeric-owner", "-xpf", self.tarball], check=True)
        self.user = passwd_entry(self.root, self.plan.user)

    def _env(self):
        """The environment a runtime gives the container's processes: PATH, HOME of USER, HOSTNAME."""
        return "PATH=%s HOME=%s HOSTNAME=clockwerk-test" % (DEFAULT_PATH, shlex.quote(self.user[2]))

    def start(self, argv=None):
        """Starts ENTRYPOINT + CMD (or argv) as USER; returns the host pid of the container's PID 1."""
        uid, gid, _home, groups = self.user
        lines = []
        for host, inside, ro in self.binds:
            target = '"$R"' + shlex.quote(inside)
            make = "mkdir -p %s" % target if os.path.isdir(host) else \
                'mkdir -p "$(dirname %s)"; [ -e %s ] || touch %s' % (target, target, target)
            lines.append("%s; mount --bind %s %s" % (make, shlex.quote(host), target))
            if ro:
                lines.append("mount -o remount,bind,ro %s" % target)
        script = _START % {"nodes": " ".join(_DEV_NODES), "binds": "\n".join(lines), "uid": uid, "gid": gid,
                           "groups": ",".join(str(g) for g in groups), "env": self._env()}
        with open(os.path.join(self.dir, "start.sh"), "w") as f:
            f.write(script)
        with open(self.out_path, "w") as out, open(self.log_path, "w") as err:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "/bin/sh",
                 os.path.join(self.dir, "start.sh"), self.root] + (argv or self.plan.argv()),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        PROCESSES.add(self.proc.pid)

        def init():
            kids = list_children(self.proc.pid)
            if kids:
                return kids[0][0]
            if self.proc.poll() is not None:
                raise ImageError("the container exited at once (%s); its output:\n%s"
                                 % (self.proc.returncode, self.output()[-3000:]))
            return None
        self.init_pid = wait_for(init, 30, "the container's PID 1")
        PROCESSES.add(self.init_pid)
        return self.init_pid

    def output(self, stream="stderr"):
        """What the container wrote so far on stderr (or stdout)."""
        try:
            with open(self.log_path if stream == "stderr" else self.out_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def exec(self, argv, timeout=30):
        """Runs argv inside the running container as USER (like `docker exec`); returns (exit code, output)."""
        uid, gid, _home, groups = self.user
        cmd = ["nsenter", "--target", str(self.init_pid), "--mount", "--pid", "--", "chroot",
               "--userspec=%d:%d" % (uid, gid), "--groups=" + ",".join(str(g) for g in groups), self.root,
               "/usr/bin/env", "-i"] + shlex.split(self._env()) + argv
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        return r.returncode, r.stdout

    def stop(self, timeout=30):
        """SIGTERM to PID 1 (what `docker stop` sends); returns unshare's exit status once the namespace ended."""
        start = proc_starttime(self.init_pid)
        if start is not None:
            os.kill(self.init_pid, signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def cleanup(self):
        """Kills whatever still runs (PID 1 first: the kernel then kills the rest of its namespace), checks that
        no mount under the tree is left in this namespace, and removes the tree. Every path calls this."""
        for pid in (self.init_pid, self.proc.pid if self.proc else None):
            if pid and proc_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc:
            self.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while self.init_pid and proc_alive(self.init_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open("/proc/self/mountinfo") as f:
            left = [line.split()[4] for line in f if line.split()[4].startswith(self.root)]
        if left:
            raise ImageError("mounts left under %s: %s (not removing the tree)" % (self.root, left))
        shutil.rmtree(self.root, ignore_errors=True)
