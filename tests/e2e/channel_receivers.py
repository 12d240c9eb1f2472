"""tests/e2e/channel_receivers.py — one local HTTP(S) server standing in for every service an alert channel
talks to (docs/alerts.md "Channels"). It records each request and checks it against the service's published
schema (required fields, types, lengths, credentials); a request that does not fit is answered 400 and listed in
`errors`, so a test asserts `rx.errors == []` as well as what arrived.

    with ChannelReceiver(tokens) as rx:       tokens: the secret each service expects (see TOKENS)
        rx.url("slack")                       -> "http://127.0.0.1:PORT/slack/T0/B0/<slack token>" (the URL to
                                                 configure; for telegram/pagerduty/opsgenie/gotify: the base)
        rx.calls("slack")                     -> [{"path", "headers", "body" (JSON, or text for ntfy)}, ...]
        rx.errors                             -> ["discord: content longer than 2000 characters", ...]
        rx.incidents("pagerduty")             -> {dedup_key: "triggered" | "resolved"} (the cycle as the service
                                                 would keep it); the same for "opsgenie" by alias
                                                 ("open" | "closed")
    ChannelReceiver(tokens, tls_dir=d)        HTTPS with a self-signed certificate for 127.0.0.1

Paths: /slack/..., /mattermost/..., /discord/..., /teams/..., /webhook/..., /ntfy/TOPIC, /tg/bot<TOKEN>/sendMessage,
/pd/v2/enqueue, /og/v2/alerts, /og/v2/alerts/<alias>/close?identifierType=alias, /gotify/message. Runs on 127.0.0.1
only, on a port the kernel picks; stop() (on every path, through the context manager) closes it.
"""

import json
import re
import ssl
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from loopback_http import BackgroundHTTPServer, LoopbackHTTPServer

TOKENS = {"slack": "xoxSLACKsecret", "mattermost": "mmSECRETpath", "discord": "dcSECRETtoken",
          "teams": "tmSECRETsig", "webhook": "whSECRETpath", "ntfy": "tk_NTFYsecret", "telegram": "12345:TGsecret",
          "pagerduty": "R0UTINGkeySECRETpd000000000000000", "opsgenie": "OGsecret-api-key", "gotify": "GTsecretAPP"}

SEVERITIES = ("critical", "error", "warning", "info")
HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


class SchemaError(Exception):
    pass


def need(cond, what):
    if not cond:
        raise SchemaError(what)


def is_str(v, max_chars=None, empty=False):
    return isinstance(v, str) and (empty or v != "") and (max_chars is None or len(v) <= max_chars)


def iso_time(v):
    need(isinstance(v, str), "timestamp is not a string")
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise SchemaError("timestamp %r is not ISO 8601" % v)


def check_slack(body, headers):
    need(is_str(body.get("text"), 40000), "slack: text missing or too long")
    for att in body.get("attachments", []):
        need(isinstance(att, dict), "slack: attachment is not an object")
        need(HEX_COLOUR.fullmatch(att.get("color", "")), "slack: color %r is not #rrggbb" % att.get("color"))
        need(is_str(att.get("fallback")), "slack: attachment without fallback")
        for f in att.get("fields", []):
            need(is_str(f.get("title")) and is_str(f.get("value"), empty=True), "slack: field without title/value")
            need(isinstance(f.get("short"), bool), "slack: field short is not a boolean")


def check_discord(body, headers):
    content = body.get("content", "")
    embeds = body.get("embeds", [])
    need(content or embeds, "discord: neither content nor embeds")
    need(is_str(content, 2000, empty=True), "discord: content longer than 2000 characters")
    need(isinstance(embeds, list) and len(embeds) <= 10, "discord: more than 10 embeds")
    total = 0
    for e in embeds:
        need(is_str(e.get("title", "x"), 256), "discord: embed title longer than 256")
        need(is_str(e.get("description", "x"), 4096), "discord: embed description longer than 4096")
        need(isinstance(e.get("color", 0), int) and 0 <= e.get("color", 0) <= 0xFFFFFF, "discord: bad color")
        if "timestamp" in e:
            iso_time(e["timestamp"])
        fields = e.get("fields", [])
        need(len(fields) <= 25, "discord: more than 25 fields")
        for f in fields:
            need(is_str(f.get("name"), 256) and is_str(f.get("value"), 1024), "discord: field name/value bad")
            total += len(f["name"]) + len(f["value"])
        total += len(e.get("title", "")) + len(e.get("description", "")) + len(e.get("footer", {}).get("text", ""))
    need(total <= 6000, "discord: embeds hold more than 6000 characters")
    need(body.get("allowed_mentions", {}).get("parse") == [], "discord: mentions not disabled")


def check_teams(body, headers):
    need(body.get("type") == "message", "teams: type is not 'message'")
    atts = body.get("attachments")
    need(isinstance(atts, list) and len(atts) == 1, "teams: not exactly one attachment")
    need(atts[0].get("contentType") == "application/vnd.microsoft.card.adaptive", "teams: not an Adaptive Card")
    card = atts[0].get("content", {})
    need(card.get("type") == "AdaptiveCard" and card.get("version") == "1.4", "teams: not an AdaptiveCard 1.4")
    need(isinstance(card.get("body"), list) and card["body"], "teams: empty card body")
    for el in card["body"]:
        need(el.get("type") in ("TextBlock", "FactSet"), "teams: unexpected element %r" % el.get("type"))
        if el["type"] == "TextBlock":
            need(is_str(el.get("text")), "teams: TextBlock without text")
            need(el.get("color", "Default") in ("Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"),
                 "teams: bad TextBlock color")
        else:
            for f in el.get("facts", []):
                need(is_str(f.get("title")) and is_str(f.get("value"), empty=True), "teams: fact without title/value")


def check_ntfy(text, headers, token):
    need(len(text.encode("utf-8")) <= 4096, "ntfy: message longer than 4096 bytes")
    need(text.strip() != "", "ntfy: empty message")
    need(headers.get("Title"), "ntfy: no Title header")
    need(headers.get("Priority") in ("1", "2", "3", "4", "5"), "ntfy: Priority %r not 1..5" % headers.get("Priority"))
    need(all(t.strip() for t in headers.get("Tags", "x").split(",")), "ntfy: empty tag")
    need(headers.get("Authorization") == "Bearer " + token, "ntfy: wrong or missing Bearer token")


def check_telegram(body, headers):
    cid = body.get("chat_id")
    need(isinstance(cid, int) or (isinstance(cid, str) and cid), "telegram: chat_id missing")
    need(is_str(body.get("text"), 4096), "telegram: text missing or longer than 4096")
    need(body.get("parse_mode") in (None, "HTML", "MarkdownV2", "Markdown"), "telegram: bad parse_mode")


def check_gotify(body, headers, token):
    need(headers.get("X-Gotify-Key") == token, "gotify: wrong or missing X-Gotify-Key")
    need(is_str(body.get("message")), "gotify: message missing")
    need(is_str(body.get("title", "x"), empty=True), "gotify: title not a string")
    need(isinstance(body.get("priority", 0), int) and 0 <= body.get("priority", 0) <= 10, "gotify: priority not 0..10")


def check_pagerduty(body, headers, token):
    need(body.get("routing_key") == token, "pagerduty: wrong routing_key")
    action = body.get("event_action")
    need(action in ("trigger", "acknowledge", "resolve"), "pagerduty: bad event_action %r" % action)
    key = body.get("dedup_key")
    need(is_str(key, 255), "pagerduty: dedup_key missing or longer than 255")
    if action == "trigger":
        p = body.get("payload")
        need(isinstance(p, dict), "pagerduty: trigger without payload")
        need(is_str(p.get("summary"), 1024), "pagerduty: summary missing or longer than 1024")
        need(is_str(p.get("source")), "pagerduty: source missing")
        need(p.get("severity") in SEVERITIES, "pagerduty: bad severity %r" % p.get("severity"))
        if "timestamp" in p:
            iso_time(p["timestamp"])
        need(isinstance(p.get("custom_details", {}), dict), "pagerduty: custom_details not an object")
    return key, action


def check_opsgenie_create(body, headers):
    need(is_str(body.get("message"), 130), "opsgenie: message missing or longer than 130")
    need(is_str(body.get("alias"), 512), "opsgenie: alias missing or longer than 512")
    need(is_str(body.get("description", "x"), 15000), "opsgenie: description longer than 15000")
    need(body.get("priority", "P3") in ("P1", "P2", "P3", "P4", "P5"), "opsgenie: bad priority")
    need(is_str(body.get("source", "x"), 100), "opsgenie: source longer than 100")
    need(all(isinstance(t, str) for t in body.get("tags", [])), "opsgenie: tags not strings")
    need(all(isinstance(v, str) for v in body.get("details", {}).values()), "opsgenie: details values not strings")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        try:
            status, answer = self.server.owner._handle(self.command, self.path, self.headers, raw)
        except SchemaError as e:
            status, answer = 400, {"error": str(e)}
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    do_PUT = do_POST
    do_GET = do_POST


class _MaybeTLSServer(LoopbackHTTPServer):
    """Wraps its listening socket in TLS before serving when its owner has a TLS context."""

    def __init__(self, owner, handler):
        super().__init__(owner, handler)
        if owner._tls_ctx is not None:
            self.socket = owner._tls_ctx.wrap_socket(self.socket, server_side=True)


class ChannelReceiver(BackgroundHTTPServer):
    handler = _Handler
    server_class = _MaybeTLSServer

    def __init__(self, tokens=None, tls_dir=None):
        super().__init__()
        self.tokens = dict(TOKENS, **(tokens or {}))
        self.tls_dir = tls_dir
        self.errors = []
        self._calls = []
        self._incidents = {"pagerduty": {}, "opsgenie": {}}

    def start(self):
        self._tls_ctx = None
        if self.tls_dir:
            from targets import make_self_signed_cert
            cert, key = make_self_signed_cert(self.tls_dir)
            self._tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls_ctx.load_cert_chain(cert, key)
        return super().start()

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls_dir else "http", self.port)

    def url(self, service):
        t = self.tokens
        return {"slack": self.base + "/slack/T0/B0/" + t["slack"],
                "mattermost": self.base + "/mattermost/hooks/" + t["mattermost"],
                "discord": self.base + "/discord/api/webhooks/1/" + t["discord"],
                "teams": self.base + "/teams/workflows/" + t["teams"],
                "webhook": self.base + "/webhook/" + t["webhook"],
                "ntfy": self.base + "/ntfy/clockwerk-alerts",
                "telegram": self.base + "/tg",
                "pagerduty": self.base + "/pd",
                "opsgenie": self.base + "/og",
                "gotify": self.base + "/gotify"}[service]

    def calls(self, service):
        with self._lock:
            return [dict(c) for c in self._calls if c["service"] == service]

    def incidents(self, service):
        with self._lock:
            return dict(self._incidents[service])

    def _record(self, service, path, headers, body):
        with self._lock:
            self._calls.append({"service": service, "path": path, "headers": headers, "body": body})

    def _fail(self, service, why):
        with self._lock:
            self.errors.append(why if why.startswith(service + ":") else "%s: %s" % (service, why))
        raise SchemaError(why)

    def _handle(self, method, target, headers, raw):
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query)
        service = path.split("/")[1] if path.count("/") >= 1 else ""
        service = {"tg": "telegram", "pd": "pagerduty", "og": "opsgenie"}.get(service, service)
        hdrs = {k: v for k, v in headers.items()}
        if method != "POST":
            self._fail(service, "method %s, not POST" % method)
        if service == "ntfy":
            text = raw.decode("utf-8", "replace")
            self._guard(service, check_ntfy, text, hdrs, self.tokens["ntfy"])
            self._record(service, path, hdrs, text)
            return 200, {"id": "x", "event": "message", "topic": path.split("/")[-1], "message": text}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            self._fail(service, "body is not JSON: %r" % raw[:80])
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            self._fail(service, "Content-Type %r" % headers.get("Content-Type"))
        return self._route(service, path, query, hdrs, body)

    def _guard(self, service, fn, *args):
        try:
            return fn(*args)
        except SchemaError as e:
            self._fail(service, str(e))

    def _route(self, service, path, query, hdrs, body):
        t = self.tokens
        if service in ("slack", "mattermost", "discord", "teams", "webhook"):
            if not path.endswith("/" + t[service]):
                self._fail(service, "unknown hook path")
            check = {"slack": check_slack, "mattermost": check_slack, "discord": check_discord,
                     "teams": check_teams, "webhook": lambda b, h: None}[service]
            self._guard(service, check, body, hdrs)
            self._record(service, path, hdrs, body)
            return (204 if service == "discord" else 200), {}
        if service == "telegram":
            if path != "/tg/bot%s/sendMessage" % t["telegram"]:
                self._fail(service, "not /bot<token>/sendMessage of the right token")
            self._guard(service, check_telegram, body, hdrs)
            self._record(service, path, hdrs, body)
            return 200, {"ok": True, "result": {"message_id": len(self.calls("telegram")), "text": body["text"]}}
        if service == "gotify":
            if path != "/gotify/message":
                self._fail(service, "not /message")
            self._guard(service, check_gotify, body, hdrs, t["gotify"])
            self._record(service, path, hdrs, body)
            return 200, {"id": len(self.calls("gotify")), "message": body["message"]}
        if service == "pagerduty":
            if path != "/pd/v2/enqueue":
                self._fail(service, "not /v2/enqueue")
            key, action = self._guard(service, check_pagerduty, body, hdrs, t["pagerduty"])
            self._record(service, path, hdrs, body)
            with self._lock:
                self._incidents["pagerduty"][key] = "triggered" if action == "trigger" else "resolved"
            return 202, {"status": "success", "message": "Event processed", "dedup_key": key}
        if service == "opsgenie":
            return self._opsgenie(path, query, hdrs, body)
        self._fail(service or "?", "no such service path %s" % path)

    def _opsgenie(self, path, query, hdrs, body):
        if hdrs.get("Authorization") != "GenieKey " + self.tokens["opsgenie"]:
            self._fail("opsgenie", "wrong or missing Authorization: GenieKey")
        m = re.fullmatch(r"/og/v2/alerts/([^/]+)/close", path)
        if path == "/og/v2/alerts":
            self._guard("opsgenie", check_opsgenie_create, body, hdrs)
            with self._lock:
                self._incidents["opsgenie"][body["alias"]] = "open"
        elif m:
            if query.get("identifierType") != ["alias"]:
                self._fail("opsgenie", "close without identifierType=alias")
            with self._lock:
                if self._incidents["opsgenie"].get(m.group(1)) != "open":
                    self.errors.append("opsgenie: close of alias %s that is not open" % m.group(1))
                self._incidents["opsgenie"][m.group(1)] = "closed"
        else:
            self._fail("opsgenie", "no such path %s" % path)
        self._record("opsgenie", path, hdrs, body)
        return 202, {"result": "Request will be processed", "took": 0.01, "requestId": "r%d" % len(self._calls)}
