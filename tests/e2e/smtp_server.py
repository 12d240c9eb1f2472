"""tests/e2e/smtp_server.py — a real SMTP server on 127.0.0.1 for the alerter's end-to-end tests.

    with SmtpServer() as smtp:                      # plain SMTP, no auth (smtp_tls = "none")
        ... smtp.port, smtp.messages(), smtp.wait_messages(n) ...
    with SmtpServer(starttls=True, auth=("user", "pw")) as smtp:   # STARTTLS required, AUTH required
        ... smtp.ca_file ...                         # the self-signed certificate, for smtp_ca_file
    with SmtpServer(implicit_tls=True) as smtp:     # TLS from the first byte (smtp_tls = "tls", like port 465)

Built on Debian's python3-aiosmtpd (aiosmtpd.controller.Controller: the server runs in a thread of the
test process). The certificate is generated with the openssl command at test time (CN and SAN 127.0.0.1).
stop() and start() keep the port, so a test can take the server away while an alert is due and bring it
back. Every message accepted is recorded with its envelope, whether it came over TLS and after AUTH, and
which connection it came on (its "conn" number and its "conn_index", 1 for the first message on it).

Modes a test can switch at any time (they act on the next command):
    smtp.refuse = {"bad@x": "550 5.1.1 no such user"}   RCPT TO of that address gets that reply
    smtp.hang = True          RCPT TO is never answered (until hang is False again); smtp.hung counts them
    smtp.max_per_connection = 10   MAIL FROM of message 11 on one connection gets 451 (like an MTA that
                                   queues instead of delivering); smtp.refused_per_connection counts them
smtp.rcpt_log lists every RCPT TO seen (address, reply); smtp.open_connections() the connections open now.
"""

import asyncio
import email
import email.policy
import os
import subprocess
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import harness


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert_path, key_path)."""
    cert = os.path.join(directory, "smtp-cert.pem")
    key = os.path.join(directory, "smtp-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        limit = self.server.max_per_connection
        if limit is not None and getattr(session, "cw_messages", 0) >= limit:
            with self.server._lock:
                self.server.refused_per_connection += 1
            return "451 4.7.0 more than %d messages in one connection" % limit
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.server.hang:
            with self.server._lock:
                self.server.hung += 1
            while self.server.hang:
                await asyncio.sleep(0.05)
        reply = self.server.refuse.get(address)
        with self.server._lock:
            self.server.rcpt_log.append((address, reply or "250 OK"))
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        session.cw_messages = getattr(session, "cw_messages", 0) + 1
        session.cw_conn = getattr(server, "cw_conn", None)
        self.server._record(session, envelope)
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """Counts the connections open: each SMTP protocol object reports when it is made and lost."""

    def __init__(self, owner, *args, **kw):
        self._owner = owner
        super().__init__(*args, **kw)

    def factory(self):
        proto = super().factory()
        owner = self._owner
        made, lost = proto.connection_made, proto.connection_lost

        def connection_made(transport):
            with owner._lock:
                owner._open += 1
                owner._conns += 1
                proto.cw_conn = owner._conns
            return made(transport)

        def connection_lost(exc):
            with owner._lock:
                owner._open -= 1
            return lost(exc)
        proto.connection_made = connection_made
        proto.connection_lost = connection_lost
        return proto


class SmtpServer:
    def __init__(self, starttls=False, auth=None, port=None, implicit_tls=False):
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.port = port or harness.free_port()
        self._dir = tempfile.mkdtemp(prefix="cw-smtp-", dir="/tmp")
        self.ca_file = None
        self._ssl = None
        if starttls or implicit_tls:
            import ssl
            cert, key = make_certificate(self._dir)
            self.ca_file = cert
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(cert, key)
        self._lock = threading.Lock()
        self._messages = []
        self.auth_failures = 0
        self._controller = None
        self.refuse = {}
        self.hang = False
        self.hung = 0
        self.max_per_connection = None
        self.refused_per_connection = 0
        self.rcpt_log = []
        self._open = 0
        self._conns = 0

    # ---- life cycle
    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and self.auth is not None and
              auth_data.login.decode() == self.auth[0] and auth_data.password.decode() == self.auth[1])
        if not ok:
            with self._lock:
                self.auth_failures += 1
        # handled=False: aiosmtpd then answers itself (235 on success, 535 on failure)
        return AuthResult(success=ok, handled=False)

    def start(self):
        kwargs = {}
        if self.starttls:
            kwargs.update(tls_context=self._ssl, require_starttls=True)
        if self.implicit_tls:
            kwargs.update(ssl_context=self._ssl)
        if self.auth:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=bool(self.starttls))
        self._controller = _Controller(self, _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        deadline = time.monotonic() + 10
        while True:  # the port may still be in TIME_WAIT for a moment after stop()
            try:
                self._controller.start()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return self

    def stop(self):
        self.hang = False  # wakes hung handlers, so the server's loop can stop
        if self._controller is not None:
            try:
                self._controller.stop()
            except Exception:
                pass
            self._controller = None

    def open_connections(self):
        with self._lock:
            return self._open

    def running(self):
        return self._controller is not None

    def close(self):
        self.stop()
        for fn in os.listdir(self._dir):
            os.unlink(os.path.join(self._dir, fn))
        os.rmdir(self._dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- what arrived
    def _record(self, session, envelope):
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        with self._lock:
            self._messages.append({
                "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "raw": raw, "msg": msg,
                # the Subject as a reader sees it: unfolded, RFC 2047 encoded-words decoded (issue 15)
                "subject": str(email.message_from_bytes(raw, policy=email.policy.default).get("Subject", "")),
                "message_id": msg.get("Message-ID", ""),
                "body": msg.get_payload(decode=True).decode("utf-8", "replace") if not msg.is_multipart() else "",
                "conn": getattr(session, "cw_conn", None) or id(session),
                "conn_index": getattr(session, "cw_messages", 0),
                "tls": self.implicit_tls or bool(getattr(session, "ssl", None)), "authenticated": bool(getattr(session, "authenticated", False)),
                "at": time.time()})

    def messages(self, subject_contains=None):
        with self._lock:
            msgs = list(self._messages)
        if subject_contains is not None:
            msgs = [m for m in msgs if subject_contains in m["subject"]]
        return msgs

    def subjects(self):
        return [m["subject"] for m in self.messages()]

    def wait_messages(self, n, subject_contains=None, timeout=30.0):
        """Waits until at least n messages (with that text in the subject) arrived; returns them."""
        return harness.wait_for(lambda: (lambda m: m if len(m) >= n else None)(self.messages(subject_contains)),
                                harness.deadline(timeout),
                                lambda: "%d mail(s)%s; have subjects %s" % (
                                    n, " with %r" % subject_contains if subject_contains else "", self.subjects()))
