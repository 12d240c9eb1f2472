"""tests/e2e/test_check_config.py — `clockwerk -t` on configurations with the check types of issue 14 (tcp, tls,
dns, icmp, push) and the HTTP assertion keys (docs/config.md "Check types", "HTTP assertions"): a file with one
endpoint of each type is valid (exit 0, `config OK`), and each defect is refused with exit 1 and a
`FILE:LINE: message` at the line marked `#!`: a key of another type, a missing name or port, a bad regex with its
offset, a bad JSON path, a push endpoint without a `web` group, a push token in a file others may read (and the
token never printed), duplicate identity keys naming both lines.
"""

import os
import re

import harness
from harness import check, run_cli, tempdir
from test_config_cli import _marked_line, _problem_lines  # the FILE:LINE reading of the -t tests

TOKEN = "e2e-push-token-0123456789"

WEB = 'web = { listen = "127.0.0.1:8080"; allow_plain_http = true; };\n'


def _config(endpoints, web=True):
    return ('supervisor = { workers = 1; run_dir = "run"; };\n' + (WEB if web else "") +
            "monitor = {\n  endpoints = (\n" + ",\n".join(endpoints) + "\n  );\n};\n")


# One endpoint of each type, and an HTTP one with the assertion keys.
VALID_ENDPOINTS = [
    '    { type = "tcp"; name = "redis"; host = "127.0.0.1"; port = 6379; send = "PING\\r\\n"; expect = "+PONG"; }',
    '    { type = "tls"; name = "mail"; host = "127.0.0.1"; port = 587; starttls = "smtp"; min_cert_days = 14; }',
    '    { type = "dns"; name = "zone"; host = "example.org"; record_type = "MX"; dns_server = "127.0.0.1:5353";\n'
    '      expect_answers = ["10 mx.example.org"]; }',
    '    { type = "icmp"; name = "gateway"; host = "127.0.0.1"; count = 5; packet_interval = 0.2; max_loss = 20; }',
    '    { type = "push"; name = "backup"; token = "%s"; grace = 30; }' % TOKEN,
    '    { url = "http://127.0.0.1:1/health"; method = "PUT"; body = "{}"; expect_status = ("2xx", 304);\n'
    '      keywords = ["ok"]; body_regex = ["^\\\\{"]; json = ["$.status == \\"UP\\"", "$.queue.depth < 100"];\n'
    '      header_conditions = ["Content-Type ~ ^application/json"]; max_response_time = 2; body_limit = 4096; }',
]


def _write(d, name, text, mode=0o600):
    path = os.path.join(d, name)
    harness.write_config(path, text)
    os.chmod(path, mode)
    return path


def _expect_refused(d, name, text, message_rx, mode=0o600):
    """-t on the file: exit 1 and a message matching message_rx at the marked line. Returns the output."""
    path = _write(d, name + ".conf", text, mode)
    res = run_cli(["-t", "-c", path])
    check(res.code == 1, "%s: `clockwerk -t` exited %s, expected 1\n%s" % (name, res.code, res.text[-800:]))
    line = _marked_line(text)
    at = [m for n, m in _problem_lines(res.text, path) if n == line]
    check(any(re.search(message_rx, m) for m in at),
          "%s: no message at line %d matching /%s/ in:\n%s" % (name, line, message_rx, res.text[-1200:]))
    return res.text


def test_every_type_valid():
    with tempdir() as d:
        path = _write(d, "types.conf", _config(VALID_ENDPOINTS))
        res = run_cli(["-t", "-c", path])
        check(res.code == 0, "`clockwerk -t` exited %s on a valid file:\n%s" % (res.code, res.text[-1500:]))
        check("config OK: 6 endpoints" in res.text, "expected `config OK: 6 endpoints`, got %r" % res.text[-400:])
        check(TOKEN not in res.text, "the push token was printed")


def test_keys_of_another_type_refused():
    with tempdir() as d:
        cases = [
            ("dns_port", ['    { type = "dns"; name = "d"; host = "example.org";\n      port = 53; } #!'],
             r"monitor\.endpoints\[0\]: 'port' is not a key of a dns check"),
            ("tcp_url", ['    { type = "tcp"; name = "t"; host = "h"; port = 1;\n      url = "http://h/"; } #!'],
             r"'url' is not a key of a tcp check"),
            ("icmp_keyword", ['    { type = "icmp"; name = "i"; host = "h";\n      keyword = "x"; } #!'],
             r"'keyword' is not a key of an icmp check"),
            ("push_timeout", ['    { type = "push"; name = "p"; token = "%s";\n      timeout = 5; } #!' % TOKEN],
             r"'timeout' is not a key of a push check"),
            ("http_host", ['    { url = "http://h/";\n      host = "h"; } #!'], r"'host' is not a key of an http check"),
            ("bad_type", ['    { name = "x";\n      type = "smtp"; } #!'], r"'smtp' is not one of http, tcp, tls"),
        ]
        for name, eps, rx in cases:
            _expect_refused(d, name, _config(eps), rx)


def test_required_keys_and_bounds():
    with tempdir() as d:
        cases = [
            ("no_name", ['    { type = "tcp"; host = "h"; port = 1; } #!'], r"a tcp check needs a 'name'"),
            ("no_port", ['    { type = "tls"; name = "t"; host = "h"; } #!'], r"a tls check needs 'port'"),
            ("port_range", ['    { type = "tcp"; name = "t"; host = "h";\n      port = 70000; } #!'],
             r"port: must be between 1 and 65535"),
            ("dns_server", ['    { type = "dns"; name = "d"; host = "h";\n      dns_server = "ns.example"; } #!'],
             r"is not \"IP\", \"IP:PORT\" or \"\[IPv6\]:PORT\""),
            ("icmp_time", ['    { type = "icmp"; name = "i"; host = "h"; timeout = 1;\n      count = 20; } #!'],
             r"no time left for the last reply inside the timeout"),
            ("regex", ['    { url = "http://h/";\n      body_regex = ["a(b"]; } #!'],
             r"body_regex\[0\]: 'a\(b' is not a regular expression: .* at offset 3"),
            ("json", ['    { url = "http://h/";\n      json = ["$.a[*] == 1"]; } #!'], r"json\[0\]: .*index"),
            ("head_body", ['    { url = "http://h/"; method = "HEAD";\n      keywords = ["ok"]; } #!'],
             r"method HEAD has no body to search"),
        ]
        for name, eps, rx in cases:
            _expect_refused(d, name, _config(eps), rx)


def test_push_needs_web_group():
    with tempdir() as d:
        text = _config(['    { name = "p"; token = "%s";\n      type = "push"; } #!' % TOKEN], web=False)
        _expect_refused(d, "noweb", text, r"a push check needs the `web` group")


def test_push_token_secrecy():
    with tempdir() as d:
        # a token written in a file others may read: refused like a password, and never printed
        text = _config(['    { type = "push"; name = "p";\n      token = "%s"; } #!' % TOKEN])
        out = _expect_refused(d, "readable", text, r"token: the file holds a push token but others may read it",
                              mode=0o644)
        check(TOKEN not in out, "the token was printed: %r" % out[-400:])
        # the same file private: valid
        path = _write(d, "private.conf", text)
        res = run_cli(["-t", "-c", path])
        check(res.code == 0, "private file refused: %s" % res.text[-600:])
        # token_file: read like a password file
        tok = os.path.join(d, "push.token")
        with open(tok, "w") as f:
            f.write(TOKEN + "x\n")
        os.chmod(tok, 0o600)
        path = _write(d, "tokenfile.conf", _config(['    { type = "push"; name = "p"; token_file = "push.token"; }']))
        res = run_cli(["-t", "-c", path])
        check(res.code == 0, "token_file refused: %s" % res.text[-600:])
        # a short token, two equal tokens
        _expect_refused(d, "short", _config(['    { type = "push"; name = "p";\n      token = "abc"; } #!']),
                        r"a token is 16 to 256 characters")
        text = _config(['    { type = "push"; name = "a"; token = "%s"; }' % TOKEN,
                        '    { type = "push"; name = "b";\n      token = "%s"; } #!' % TOKEN])
        out = _expect_refused(d, "same", text, r"the same push token as another push check \(first at line 5\)")
        check(TOKEN not in out, "the token was printed: %r" % out[-400:])


def test_duplicate_keys_name_both_lines():
    with tempdir() as d:
        text = _config(['    { type = "dns"; name = "a"; host = "example.org"; }',
                        '    { type = "dns"; name = "b";\n      host = "EXAMPLE.org"; } #!'])
        _expect_refused(d, "dup", text,
                        r"the same dns check as another \(its key 'dns:EXAMPLE\.org\?type=A'\) \(first at line 5\)")
        # two tcp checks of one port that send other things: both kept, the second keyed with #NAME
        text = _config(['    { type = "tcp"; name = "a"; host = "127.0.0.1"; port = 1; }',
                        '    { type = "tcp"; name = "b"; host = "127.0.0.1"; port = 1; send = "x"; }'])
        path = _write(d, "tcp.conf", text)
        res = run_cli(["-t", "-c", path])
        check(res.code == 0 and "config OK: 2 endpoints" in res.text, "two tcp checks refused: %s" % res.text[-600:])


def test_proxy_password_never_printed():
    # a '/' in the password: curl reads the authority up to it, the URL is refused — with its credentials masked
    with tempdir() as d:
        text = _config(['    { url = "http://127.0.0.1:1/";\n      proxy = "http://user:pa/ss@proxy:3128"; } #!'])
        out = _expect_refused(d, "proxy", text, r"proxy: 'http://\*\*\*@proxy:3128' ")
        check("pa/ss" not in out and "user:" not in out, "the proxy's password was printed: %r" % out[-600:])


def test_hosts_and_answers_checked():
    with tempdir() as d:
        cases = [
            ("bracket_name", ['    { type = "tcp"; name = "t"; port = 80;\n      host = "[foo bar]"; } #!'],
             r"host: '\[foo bar\]' has brackets around something that is not an IPv6 address"),
            ("host_port", ['    { type = "tcp"; name = "t"; port = 80;\n      host = "1.2.3.4:80"; } #!'],
             r"host: '1\.2\.3\.4:80' is not a host name or an address "
             r"\(a host has no port: write the port in `port`\)"),
            ("a_answer", ['    { type = "dns"; name = "d"; host = "example.org";\n'
                          '      expect_answers = ["not-an-ip"]; } #!'],
             r"expect_answers\[0\]: 'not-an-ip' is not an IPv4 address \(record_type A\)"),
            ("mx_answer", ['    { type = "dns"; name = "d"; host = "example.org"; record_type = "MX";\n'
                           '      expect_answers = ["mx.example.org"]; } #!'],
             r"expect_answers\[0\]: 'mx\.example\.org' is not \"PREFERENCE NAME\" \(record_type MX\)"),
        ]
        for name, eps, rx in cases:
            _expect_refused(d, name, _config(eps), rx)
        # an IPv6 host in brackets or bare, and dns_server "[::1]": valid
        path = _write(d, "v6.conf", _config([
            '    { type = "tcp"; name = "a"; host = "[::1]"; port = 1; }',
            '    { type = "icmp"; name = "b"; host = "::1"; }',
            '    { type = "dns"; name = "c"; host = "example.org"; dns_server = "[::1]";\n'
            '      record_type = "AAAA"; expect_answers = ["2001:DB8::1"]; }']))
        res = run_cli(["-t", "-c", path])
        check(res.code == 0 and "config OK: 3 endpoints" in res.text, "IPv6 forms refused: %s" % res.text[-600:])
