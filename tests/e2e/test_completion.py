"""tests/e2e/test_completion.py — the installed bash completion (etc/bash-completion/clockwerk) against the
programs' own --help, and where on a `silence add` line it offers what:

- every option each command's --help lists is offered by the completion for that command (on a word starting
  with '-'), and nothing it offers is unknown to that --help: the completion keeps its option lists by hand, this
  catches the drift; for silence/ack the help marks options "add:" or "list:", and only that action offers them;
- after `silence add ENDPOINT` (or --group GROUP / --all) the next word is an option (--for, --reason, ...), not
  the endpoint again; `-c FILE` before the subcommand still leads to the subcommands.

Driven as bash drives a completion (COMP_WORDS/COMP_CWORD), with the completion installed by `make install` into
a DESTDIR and loaded by bash-completion (test_install.py's driver).
"""

import os
import re
import subprocess

from harness import bin_dir, check, deadline, tempdir
from test_install import _run_completion, install

# command words -> the words of the line before the option being completed
COMMANDS = {
    "": [],
    "report": ["report"],
    "status": ["status"],
    "silence add": ["silence", "add"],
    "silence list": ["silence", "list"],
    "silence remove": ["silence", "remove"],
    "ack": ["ack"],
}
TAP = "clockwerk-tap"
GENERAL = {"-c", "--config", "-h", "--help"}


def _help_options(argv):
    """{option: action or None} of a --help: the -x and --xxx at the start of its option lines; the action is
    the word before ':' that opens an option's description ("add: how long ..."), if any."""
    p = subprocess.run(argv + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=deadline(30))
    text = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0 and text, "%s --help: exit %d" % (" ".join(argv), p.returncode))
    options = {}
    for line in text.splitlines():
        m = re.match(r"^ {2,}(-\w)?(?:, )?\s*(--[\w-]+)?\s*(?:[A-Z_]+ )?\s*(?:(\w+): )?", line)
        if not m or not (m.group(1) or m.group(2)) or not line.lstrip().startswith("-"):
            continue
        for opt in (m.group(1), m.group(2)):
            if opt:
                options[opt] = m.group(3)
    return options


def _installed(d, endpoint_name):
    """make install into d/root; (root, its clockwerk, its clockwerk-tap, a configuration in d with one endpoint
    named endpoint_name)."""
    root = os.path.join(d, "root")
    install(root, "PREFIX=/usr")
    conf = os.path.join(d, "c.conf")
    with open(conf, "w") as f:
        f.write('monitor = { endpoints = ( { url = "http://127.0.0.1:9/"; name = "%s"; } ); };\n' % endpoint_name)
    return root, os.path.join(root, "usr/bin/clockwerk"), os.path.join(root, "usr/bin/clockwerk-tap"), conf


def _usage_line(argv, words):
    """The usage lines of a silence action or of ack (joined), or None for a command with its own help."""
    if not words or words[0] not in ("silence", "ack"):
        return None
    p = subprocess.run(argv + ["--help"], stdout=subprocess.PIPE, timeout=deadline(30))
    key = " ".join(words) + " "
    return " ".join(line for line in p.stdout.decode().splitlines() if key in line)


def _offered(root, clockwerk, tap, conf):
    """{command: set of options the completion offers on a word '-'} for each of COMMANDS and the tap."""
    cases = {name: (" ".join([clockwerk, "-c", conf] + words + ["-"]), [clockwerk, "-c", conf] + words + ["-"])
             for name, words in COMMANDS.items()}
    cases[TAP] = (tap + " -", [tap, "-"])
    _specs, got, stderr = _run_completion(root, cases)
    check(not stderr.strip(), "the completion wrote to stderr:\n" + stderr)
    return {name: set(got.get(name) or []) for name in cases}


def test_completion_offers_what_help_lists():
    """Each command's --help options are what the completion offers for it, no more, no fewer (fails before:
    -h and -V were never offered, nor -h after report, status, silence or ack)."""
    with tempdir() as d:
        root, clockwerk, tap, conf = _installed(d, "web")
        offered = _offered(root, clockwerk, tap, conf)
        wrong = []
        for name, words in list(COMMANDS.items()) + [(TAP, None)]:
            argv = [os.path.join(bin_dir(), TAP)] if words is None else [os.path.join(bin_dir(), "clockwerk")] + words
            helped = _help_options(argv)
            action = words[1] if words and len(words) > 1 else (words[0] if words else None)
            want = {o for o, only in helped.items() if only is None or only == action}
            usage = _usage_line(argv, words)
            if usage is not None:  # silence/ack share a help: an unmarked option belongs where its usage has it
                want = {o for o in want if helped[o] == action or o in GENERAL or o in usage}
            got = offered[name]
            if got != want:
                wrong.append("%s: offered but not in --help %s; in --help but not offered %s"
                             % (name or "clockwerk", sorted(got - want), sorted(want - got)))
        check(not wrong, "completion and --help disagree:\n  " + "\n  ".join(wrong))


def test_silence_add_after_the_endpoint_offers_options():
    """After `silence add ENDPOINT ` (and --group G / --all) the completion offers the options still to give,
    never the endpoint again; the subcommands still follow `-c FILE` (fails before: `silence add web <Tab>`
    offered `web` again)."""
    with tempdir() as d:
        root, clockwerk, _tap, conf = _installed(d, "clockwerk web")

        def case(*words):
            line = [clockwerk, "-c", conf] + list(words)
            return (" ".join(line), line)
        cases = {
            "subcommands after -c": case(""),
            "endpoint": case("silence", "add", ""),
            "after endpoint": case("silence", "add", "clockwerk web", ""),
            "after endpoint and --for": case("silence", "add", "clockwerk web", "--for", "1h", ""),
            "after --group": case("silence", "add", "--group", "db", ""),
            "after --all": case("silence", "add", "--all", ""),
            "after --reason": case("silence", "add", "--reason", "x", ""),
        }
        _specs, got, stderr = _run_completion(root, cases)
        options = {"--for", "--reason", "--by", "--help", "-h", "-c", "--config"}
        wrong = []
        if got.get("subcommands after -c") != ["report", "status", "silence", "ack", "keygen"]:
            wrong.append("after -c FILE: %s" % got.get("subcommands after -c"))
        if got.get("endpoint") != ["clockwerk\\ web"]:
            wrong.append("silence add: %s" % got.get("endpoint"))
        if got.get("after --reason") != ["clockwerk\\ web"]:
            wrong.append("silence add --reason x: %s (the endpoint is still to give)" % got.get("after --reason"))
        for name in ("after endpoint", "after endpoint and --for", "after --group", "after --all"):
            have = set(got.get(name) or [])
            if not have or not have <= options | {"--group", "--all"} or "--for" not in have and "for" not in name:
                wrong.append("%s: %s" % (name, sorted(have)))
            if have & {"--group", "--all"}:
                wrong.append("%s offers a second target: %s" % (name, sorted(have)))
        check(not wrong and not stderr.strip(), "silence add completion:\n  " + "\n  ".join(wrong) + stderr)
