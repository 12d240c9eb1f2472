"""tests/e2e/test_manpages.py — the manual pages in man/ against the programs and docs/config.md (issue 17, §3).

- every page is `mandoc -T lint -W warning` clean, man-db (groff) formats it without a warning, and its NAME
  gives a whatis entry;
- for each program and command, the options its --help prints are the options of its page (SYNOPSIS and
  OPTIONS), both ways; -h and --help print the same usage on stdout and exit 0; the options a program parses
  with getopt_long (its source) are the ones its --help prints;
- every key of docs/config.md is in clockwerk.conf(5) under the same heading, and the page has no key the
  doc lacks.

Cheap: no server runs, only the programs' --help. The extraction of options and keys is tested too: an
option or a key dropped from a page, a help text or the doc is reported (test_extraction_catches_drift).
"""

import os
import re
import shutil
import subprocess

import harness
from harness import check, run_cli

MAN = os.path.join(harness.REPO, "man")
PAGES = ("clockwerk.8", "clockwerk.conf.5", "clockwerk-tap.1", "clockwerk-report.1", "clockwerk-status.1",
         "clockwerk-silence.1")

# Every program and command with a --help, and where its page documents it: (label, program, argv, page, which
# SYNOPSIS forms: "all", "main" (the forms without a command word, and OPTIONS) or a command word (its forms)).
COMMANDS = (
    ("clockwerk", "clockwerk", ["--help"], "clockwerk.8", "main"),
    ("clockwerk keygen", "clockwerk", ["keygen", "--help"], "clockwerk.8", "keygen"),
    ("clockwerk report", "clockwerk", ["report", "--help"], "clockwerk-report.1", "all"),
    ("clockwerk status", "clockwerk", ["status", "--help"], "clockwerk-status.1", "all"),
    ("clockwerk silence", "clockwerk", ["silence", "--help"], "clockwerk-silence.1", "all"),
    ("clockwerk ack", "clockwerk", ["ack", "--help"], "clockwerk-silence.1", "all"),
    ("clockwerk-tap", "clockwerk-tap", ["--help"], "clockwerk-tap.1", "all"),
)
HELP_OPTIONS = {"-h", "--help"}  # every program and command has them (checked on their own, not per form)

# Sources that parse their options with getopt_long: what they accept must be what --help prints.
GETOPT_SOURCES = (("clockwerk", "supervisor/cli.c"), ("clockwerk report", "report/main.c"),
                  ("clockwerk-tap", "tap/main.c"))

# docs/config.md heading -> clockwerk.conf(5) subsection (lower case); any other heading maps to itself.
CONF_SUBSECTION = {"an endpoint": "endpoints", "tcp": "tcp checks", "tls": "tls checks", "dns": "dns checks",
                   "icmp": "icmp checks", "push": "push checks", "channels": "alerts.channels"}

# ---------------------------------------------------------------------------------------------- mdoc reading

# The callable mdoc macros: a token that is one of them ends the arguments of the macro before it.
MDOC_CALLABLE = set("""Ac Ad Ao Ap Aq Ar At Bc Bo Bq Brc Bro Brq Bsx Bx Cm Dc Do Dq Dv Dx Ec Em En Eo Er Es Ev Fa
Fc Fl Fn Fo Fr Ft Fx Ic In Lk Li Ms Mt Nm No Ns Nx Oc Oo Op Ox Pa Pc Pf Po Pq Qc Ql Qo Qq Sc So Sq St Sx Sy Tn
Ux Va Vt Xc Xo Xr""".split())
MDOC_DELIMITERS = set("( ) [ ] . , : ; ? ! |".split())
MDOC_ESCAPES = (("\\-", "-"), ("\\&", ""), ("\\e", "\\"), ("\\(dq", '"'), ("\\ ", " "))


def _macro_tokens(line):
    """The tokens of one mdoc macro line (without its leading '.'), quotes honoured, escapes resolved."""
    tokens, i, n = [], 0, len(line)
    while i < n:
        if line[i] == " ":
            i += 1
        elif line[i] == '"':
            j = line.find('"', i + 1)
            j = n if j < 0 else j
            tokens.append(line[i + 1:j])
            i = j + 1
        else:
            j = line.find(" ", i)
            j = n if j < 0 else j
            tokens.append(line[i:j])
            i = j
    out = []
    for t in tokens:
        for esc, plain in MDOC_ESCAPES:
            t = t.replace(esc, plain)
        out.append(t)
    return out


def _arguments_of(tokens, macro):
    """The arguments of every `macro` in a token list: the tokens after it up to the next callable macro,
    delimiters skipped (`.Fl V | h` gives V and h, as mdoc prints -V | -h)."""
    found, inside = [], False
    for t in tokens:
        if t in MDOC_CALLABLE:
            inside = t == macro
        elif inside and t not in MDOC_DELIMITERS and t:
            found.append(t)
    return found


def read_page(text):
    """A page as [(section, subsection, tokens)] for its macro lines; comments and text lines left out."""
    lines, section, subsection = [], "", ""
    for raw in text.split("\n"):
        if not raw.startswith(".") or raw.startswith('.\\"'):
            continue
        tokens = _macro_tokens(raw[1:])
        if not tokens:
            continue
        if tokens[0] == "Sh":
            section, subsection = " ".join(tokens[1:]).upper(), ""
            continue
        if tokens[0] == "Ss":
            subsection = " ".join(tokens[1:]).lower()
            continue
        lines.append((section, subsection, tokens))
    return lines


def synopsis_forms(page):
    """[(command words, options)] of the SYNOPSIS: one form per `.Nm` line (the forms a reader sees)."""
    forms = []
    for section, _, tokens in page:
        if section != "SYNOPSIS":
            continue
        if tokens[0] == "Nm" or not forms:
            forms.append(([], set()))
        forms[-1][0].extend(_arguments_of(tokens, "Cm"))
        forms[-1][1].update("-" + a for a in _arguments_of(tokens, "Fl"))
    return forms


def section_options(page, name="OPTIONS"):
    return {"-" + a for section, _, tokens in page if section == name for a in _arguments_of(tokens, "Fl")}


def page_options(page, which):
    """The options a page gives a command (see COMMANDS for `which`)."""
    forms = synopsis_forms(page)
    if which == "all":
        chosen = forms
    elif which == "main":
        chosen = [f for f in forms if not f[0]]
    else:
        chosen = [f for f in forms if f[0] and f[0][0] == which]
    check(chosen, "the SYNOPSIS has no form for %s" % which)
    opts = set().union(*(f[1] for f in chosen))
    return opts | section_options(page) if which in ("all", "main") else opts


# ---------------------------------------------------------------------------------------- help and source

HELP_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)")


def help_options(text):
    """Every option a usage text names: -x and --long-name words (not inside A-Z, NAME-or-URL, dates)."""
    return set(HELP_OPTION.findall(text))


def help_commands(text):
    """The command words of `clockwerk --help`: the first word of each line of its "commands:" block."""
    block = text.split("\ncommands:\n", 1)
    check(len(block) == 2, "clockwerk --help has no \"commands:\" block:\n" + text)
    words = []
    for line in block[1].split("\n"):
        m = re.match(r"  (\w+)  ", line)
        if not m:
            break
        words.append(m.group(1))
    return set(words)


def getopt_options(source_text):
    """The options a C source gives getopt_long: its `struct option` names and its optstring's letters."""
    longs = {"--" + m for m in re.findall(r'\{\s*"([\w-]+)",\s*(?:no|required|optional)_argument', source_text)}
    optstrings = re.findall(r'getopt_long\([^,]+,[^,]+,\s*"([^"]*)"', source_text)
    check(len(optstrings) == 1, "expected one getopt_long optstring, found %r" % optstrings)
    shorts = {"-" + c for c in optstrings[0] if c.isalnum()}
    return longs | shorts


# ------------------------------------------------------------------------------------------ config keys

DOC_KEY = re.compile(r"`([a-z_][a-z0-9_]*)`")


def doc_keys(text, repeated=None):
    """{(heading, key)} of docs/config.md: the first column of every table headed `key`, and the `keys` column of
    the channels' per-type table; heading: the nearest heading above (lower case, without backquotes), or the
    bold name that introduces a table (**`locations`**). A key given twice in one `key` table (two rows merged
    from two branches, say) is appended to `repeated`."""
    keys, heading, header, table = set(), "", None, []
    for line in text.split("\n"):
        m = re.match(r"^#+\s+(.*)$", line)
        bold = re.match(r"^\*\*`([\w.]+)`\*\*", line)
        if m or bold:
            heading, header = (m or bold).group(1).replace("`", "").strip().lower(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header, table = [c.lower() for c in cells], []
            continue
        if set(cells[0]) <= set("-: "):
            continue
        column = 0 if header[0] == "key" else 1 if header[:2] == ["type", "keys"] else None
        if column is None:
            continue
        for k in DOC_KEY.findall(cells[column]):
            if column == 0 and k in table and repeated is not None:
                repeated.append("%s (%s)" % (k, heading))
            table.append(k)
            keys.add((heading, k))
    return keys


def man_keys(page):
    """{(subsection, key)} of clockwerk.conf(5): the `Ic` arguments of every `.It` line."""
    return {(sub or section.lower(), k) for section, sub, tokens in page if tokens[0] == "It"
            for k in _arguments_of(tokens, "Ic") if re.match(r"^[a-z_][a-z0-9_]*$", k)}


def key_differences(doc_text, man_text):
    """Lines naming each key the doc has and the page lacks, and each the page has and the doc lacks."""
    want = {(CONF_SUBSECTION.get(h, h), k) for h, k in doc_keys(doc_text)}
    have = man_keys(read_page(man_text))
    return (["docs/config.md has %s in \"%s\"; clockwerk.conf.5 does not" % (k, s) for s, k in sorted(want - have)]
            + ["clockwerk.conf.5 has %s in \"%s\"; docs/config.md does not" % (k, s) for s, k in sorted(have - want)])


def option_differences(label, helped, documented, page):
    helped, documented = helped - HELP_OPTIONS, documented - HELP_OPTIONS
    return (["%s --help prints %s, %s does not document it" % (label, o, page) for o in sorted(helped - documented)]
            + ["%s documents %s, %s --help does not print it" % (page, o, label) for o in sorted(documented - helped)])


# ------------------------------------------------------------------------------------------------ helpers

def _page_text(name):
    path = os.path.join(MAN, name)
    check(os.path.isfile(path), "man/%s is missing" % name)
    with open(path, encoding="utf-8") as f:
        return f.read()


def _help(program, args):
    res = run_cli(args, program=program)
    label = " ".join([program] + args)
    check(res.code == 0 and res.out.strip() and res.err == "",
          "%s: exit %s, stdout %d bytes, stderr %r (want exit 0, the usage on stdout)" % (label, res.code,
                                                                                         len(res.out), res.err))
    return res.out


# -------------------------------------------------------------------------------------------------- tests

def test_pages_lint_clean():
    """Every page of man/ (the six of issue 17 at least) is `mandoc -T lint -W warning` clean; man-db (groff)
    formats it without a warning and lexgrog reads its NAME for the whatis index (lintian's bad-whatis-entry)."""
    mandoc = shutil.which("mandoc")
    check(mandoc, "mandoc is not installed (tools/install-deps.sh lists it)")
    present = sorted(n for n in os.listdir(MAN) if re.search(r"\.[158]$", n))
    check(set(PAGES) <= set(present), "man/ lacks %s" % sorted(set(PAGES) - set(present)))
    problems = []
    for name in present:
        out = subprocess.run([mandoc, "-T", "lint", "-W", "warning", os.path.join(MAN, name)], capture_output=True,
                             text=True, timeout=30)
        if out.returncode != 0 or out.stdout.strip() or out.stderr.strip():
            problems.append("%s (exit %d):\n%s%s" % (name, out.returncode, out.stdout, out.stderr))
    check(not problems, "mandoc -T lint -W warning:\n" + "\n".join(problems))
    # man-db with groff formats them where they are installed (and lintian checks them so): no warning there either
    if not shutil.which("man"):
        harness.note("man (man-db) is not installed: the groff warnings were not checked")
        return
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    for name in present:
        out = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", os.path.join(MAN, name)],
                             capture_output=True, text=True, timeout=30, env=env)
        if out.returncode != 0 or out.stderr.strip():
            problems.append("%s (exit %d):\n%s" % (name, out.returncode, out.stderr))
    check(not problems, "man --warnings:\n" + "\n".join(problems))
    # the whatis index (apropos) reads each page's NAME with lexgrog: a name it cannot parse leaves the page out
    for name in present if shutil.which("lexgrog") else ():
        out = subprocess.run(["lexgrog", os.path.join(MAN, name)], capture_output=True, text=True, timeout=30)
        if out.returncode != 0 or "parse failed" in out.stdout:
            problems.append("%s: lexgrog cannot read its NAME (no whatis entry): %s" % (name, out.stdout.strip()))
    check(not problems, "lexgrog:\n" + "\n".join(problems))


def test_help_matches_pages():
    """For each program and command: the options of --help are those of its page, both ways; -h prints the same
    usage as --help; every option of a SYNOPSIS is described in OPTIONS; every page lists -h and --help."""
    problems = []
    for label, program, args, page_name, which in COMMANDS:
        text = _help(program, args)
        short = _help(program, args[:-1] + ["-h"])
        if short != text:
            problems.append("%s: -h and --help print different texts" % label)
        page = read_page(_page_text(page_name))
        problems += option_differences(label, help_options(text), page_options(page, which), page_name)
    for name in PAGES:
        if name == "clockwerk.conf.5":
            continue
        page = read_page(_page_text(name))
        described = section_options(page)
        if not HELP_OPTIONS <= described:
            problems.append("%s: OPTIONS does not list -h and --help" % name)
        for _, opts in synopsis_forms(page):
            for o in sorted(opts - described):
                problems.append("%s: %s is in the SYNOPSIS but not described in OPTIONS" % (name, o))
    check(not problems, "help and manual pages differ:\n" + "\n".join(problems))


def test_commands_of_clockwerk_match_page():
    """The commands `clockwerk --help` lists are the command words (`Cm`) of clockwerk(8)'s SYNOPSIS."""
    helped = help_commands(_help("clockwerk", ["--help"]))
    page = read_page(_page_text("clockwerk.8"))
    documented = {w for words, _ in synopsis_forms(page) for w in words}
    check(helped == documented, "clockwerk --help lists the commands %s, clockwerk.8's SYNOPSIS %s"
          % (sorted(helped), sorted(documented)))


def test_getopt_matches_help():
    """What the programs that use getopt_long accept is what their --help prints (an option added to the code
    and not to the usage, hence not to the page, fails here)."""
    problems = []
    for label, source in GETOPT_SOURCES:
        with open(os.path.join(harness.REPO, source), encoding="utf-8") as f:
            parsed = getopt_options(f.read())
        program, args = next((p, a) for lab, p, a, _, _ in COMMANDS if lab == label)
        helped = help_options(_help(program, args))
        problems += ["%s accepts %s (%s), its --help does not print it" % (label, o, source)
                     for o in sorted(parsed - helped)]
        problems += ["%s --help prints %s, %s does not accept it" % (label, o, source)
                     for o in sorted(helped - parsed)]
    check(not problems, "\n".join(problems))


def test_config_keys_match_doc():
    """Every key of docs/config.md is in clockwerk.conf(5) under the matching heading, and no other."""
    with open(os.path.join(harness.REPO, "docs", "config.md"), encoding="utf-8") as f:
        doc = f.read()
    repeated = []
    check(len(doc_keys(doc, repeated)) > 150, "docs/config.md: found only %d keys: the extraction is broken"
          % len(doc_keys(doc)))
    check(not repeated, "docs/config.md lists a key twice in one table: %s" % ", ".join(repeated))
    problems = key_differences(doc, _page_text("clockwerk.conf.5"))
    check(not problems, "docs/config.md and clockwerk.conf.5 differ:\n" + "\n".join(problems))


def _without_option_lines(text, option):
    """The page without every macro line that gives `option` as an Fl argument."""
    def gives(line):
        return line.startswith(".") and option in {"-" + a for a in _arguments_of(_macro_tokens(line[1:]), "Fl")}
    return "\n".join(line for line in text.split("\n") if not gives(line))


def test_extraction_catches_drift():
    """The comparisons above can fail: each option dropped from a page (or from a help text) and each key dropped
    from clockwerk.conf(5) (or added to docs/config.md) is reported."""
    for label, program, args, page_name, which in COMMANDS:
        text = _help(program, args)
        page_text = _page_text(page_name)
        for option in sorted((help_options(text) & page_options(read_page(page_text), which)) - HELP_OPTIONS):
            dropped = read_page(_without_option_lines(page_text, option))
            diff = option_differences(label, help_options(text), page_options(dropped, which), page_name)
            check(any(" %s," % option in d for d in diff), "%s without %s went unnoticed" % (page_name, option))
            fewer = HELP_OPTION.sub(lambda m: "" if m.group(1) == option else m.group(1), text)
            diff = option_differences(label, help_options(fewer), page_options(read_page(page_text), which),
                                      page_name)
            check(any(" %s," % option in d for d in diff), "%s --help without %s went unnoticed" % (label, option))
    man = _page_text("clockwerk.conf.5")
    with open(os.path.join(harness.REPO, "docs", "config.md"), encoding="utf-8") as f:
        doc = f.read()
    for key in ("workers", "log_level", "tls_expiry_days", "raw_days", "chat_id", "from"):
        dropped = "\n".join(ln for ln in man.split("\n")
                            if not (ln.startswith(".It ") and key in _arguments_of(_macro_tokens(ln[1:]), "Ic")))
        check(any(" %s in " % key in d for d in key_differences(doc, dropped)),
              "clockwerk.conf.5 without %s went unnoticed" % key)
    added = doc.replace("| `workers` |", "| `no_such_key` | integer | 1 | |\n| `workers` |", 1)
    check(any("no_such_key" in d for d in key_differences(added, man)),
          "a key added to docs/config.md and not to clockwerk.conf.5 went unnoticed")
    repeated = []
    doc_keys(doc.replace("| `user` |", "| `workers` | integer | 1 | | |\n| `user` |", 1), repeated)
    check(repeated == ["workers (supervisor)"], "a key listed twice in one table went unnoticed: %r" % repeated)
