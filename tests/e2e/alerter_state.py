"""The alerter's state as tests read it: the base `alerter.state` with its journal `alerter.state.journal` replayed
(docs/alerts.md "The state file"), written here from the documented format alone, so that a test also checks that
what the alerter writes is what the documentation says."""
import json
import os


def _replay(base, journal_text):
    units = {}  # url -> {"endpoints": [...], "voters": [...], "votes": [...]}
    for key in ("endpoints", "voters", "votes"):
        for e in base.get(key, []):
            units.setdefault(e["url"], {}).setdefault(key, []).append(e)
    state = dict(base)
    start = base.get("journal_from")
    expect = start
    if start is not None:
        lines = journal_text.split("\n")[:-1]  # what follows the last newline is a torn line: ignored
        for k, text in enumerate(lines):
            try:
                line = json.loads(text)
            except ValueError:
                if k == len(lines) - 1:
                    break  # a whole last line that cannot be read: left out too
                raise
            assert line["journal"] == 1, line
            if line["seq"] < start:
                continue
            if line["seq"] != expect:
                raise ValueError("journal gap: seq %s where %s was expected" % (line["seq"], expect))
            expect += 1
            for url in line["changed"]:
                units.pop(url, None)
            for key in ("endpoints", "voters", "votes"):
                for e in line.get(key, []):
                    assert e["url"] in line["changed"], (key, e["url"])
                    units.setdefault(e["url"], {}).setdefault(key, []).append(e)
            for key in ("plain", "alerts", "jobs", "locations"):
                if key in line:
                    state[key] = line[key]
            if "workers" in line and "plain" in state:
                state["plain"] = dict(state["plain"], workers=line["workers"])
            state["saved_at"] = line["saved_at"]
    for key in ("endpoints", "voters", "votes"):
        state[key] = [e for u in units.values() for e in u.get(key, [])]
    state["journal_lines"] = (expect - start) if start is not None else 0
    return state


def read_state(run_dir, tries=3):
    """The merged state, or None when there is no readable base. A compaction between the two reads shows as a
    gap: read again."""
    base_path = os.path.join(run_dir, "alerter.state")
    for attempt in range(tries):
        try:
            with open(base_path) as f:
                base = json.load(f)
        except (OSError, ValueError):
            return None
        try:
            with open(base_path + ".journal") as f:
                journal = f.read()
        except FileNotFoundError:
            journal = ""
        except OSError:
            return None
        try:
            return _replay(base, journal)
        except ValueError:
            if attempt == tries - 1:
                raise
    return None
