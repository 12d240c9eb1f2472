"""tests/e2e/test_chaos.py — the bounded chaos suite inside `make e2e`: the seven scenarios of
tests/chaos/chaos.py with fewer kills and shorter stops (the whole file well under 3 minutes). The full
suite is `make chaos` (tests/chaos/run.py). Each test prints its line of figures as a NOTE and fails with
the scenario's failed expectations; nothing is loosened here compared with the full suite."""

import os
import sys

import harness

sys.path.insert(0, os.path.join(os.path.dirname(harness.HERE), "chaos"))
import chaos  # noqa: E402

SEED = int(os.environ.get("CLOCKWERK_CHAOS_SEED", "6"))


def _run(func):
    fig = func(chaos.BOUNDED, SEED)
    harness.note(fig.line)
    harness.check(fig.ok, fig.report())


@harness.timeout(90)
def test_chaos_storer_kill():
    _run(chaos.storer_kill)


@harness.timeout(120)
def test_chaos_alerter_kill():
    _run(chaos.alerter_kill)


@harness.timeout(60)
def test_chaos_worker_kill():
    _run(chaos.worker_kill)


@harness.timeout(60)
def test_chaos_storer_stop():
    _run(chaos.storer_stop)


@harness.timeout(60)
def test_chaos_tap_stop():
    _run(chaos.tap_stop)


@harness.timeout(60)
def test_chaos_crash_loop():
    _run(chaos.crash_loop)


@harness.timeout(60)
def test_chaos_supervisor_kill():
    _run(chaos.supervisor_kill)
