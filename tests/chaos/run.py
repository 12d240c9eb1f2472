#!/usr/bin/python3
"""tests/chaos/run.py — Clockwerk's chaos suite (`make chaos`): the nine scenarios at full size.

    CLOCKWERK_BIN=$PWD/bin /usr/bin/python3 tests/chaos/run.py [--bounded] [--seed N] [SCENARIO ...]

Runs each scenario of tests/chaos/chaos.py (storer-kill, storer-kill-postgresql, storer-kill-mariadb,
alerter-kill, worker-kill, storer-stop, tap-stop, crash-loop, supervisor-kill; all of them unless named) one
after the other, prints one line of figures per scenario (with FAILED: and the reasons when an expectation does
not hold), and ends with `chaos: N passed, N failed`. Exit code 1 when any scenario failed. --bounded runs the small profile that
`make e2e` runs (tests/e2e/test_chaos.py). Every process a scenario starts is recorded (pid and start time)
and killed at the end if it is still alive, whatever happened.
"""

import argparse
import os
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))


def main():
    ap = argparse.ArgumentParser(description="Clockwerk chaos suite")
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CLOCKWERK_CHAOS_SEED", "6")))
    ap.add_argument("--bounded", action="store_true")
    ap.add_argument("--kills", type=int, default=None, help="kills in storer-kill and alerter-kill")
    args = ap.parse_args()

    fd, pidfile = tempfile.mkstemp(prefix="cw-chaos-pids-")
    os.close(fd)
    os.environ["CLOCKWERK_E2E_PIDFILE"] = pidfile
    import chaos
    import run as e2e_run  # tests/e2e/run.py: kill_leftovers
    profile = chaos.BOUNDED if args.bounded else chaos.FULL
    if args.kills is not None:
        profile.storer_kills = profile.alerter_kills = args.kills
    names = [n for n, _ in chaos.SCENARIOS]
    for s in args.scenarios:
        if s not in names:
            print("chaos: unknown scenario %r (have: %s)" % (s, ", ".join(names)), file=sys.stderr)
            return 2
    todo = [(n, f) for n, f in chaos.SCENARIOS if not args.scenarios or n in args.scenarios]
    print("chaos: %d scenarios, profile %s, seed %d, binaries from %s" % (len(todo), profile.name, args.seed,
                                                                          chaos.harness.bin_dir()), flush=True)
    passed = failed = 0
    try:
        for name, func in todo:
            t0 = time.monotonic()
            try:
                fig = func(profile, args.seed)
            except BaseException as e:  # noqa: B902 - a scenario that raises is a failed scenario
                if isinstance(e, KeyboardInterrupt):
                    raise
                fig = chaos.Figures(name)
                fig.line = "%s: did not finish" % name
                fig.failures.append("%s: %s" % (type(e).__name__, str(e).split("\n")[0]))
                traceback.print_exc()
            print("%s (%.0f s)" % (fig.report(), time.monotonic() - t0), flush=True)
            if fig.ok:
                passed += 1
            else:
                failed += 1
            e2e_run.kill_leftovers(pidfile)
    finally:
        n = e2e_run.kill_leftovers(pidfile)
        if n:
            print("chaos: killed %d leftover process(es)" % n)
        os.unlink(pidfile)
    print("chaos: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
