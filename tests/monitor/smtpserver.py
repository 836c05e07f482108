"""A real SMTP server for tests: aiosmtpd on a loopback port, with STARTTLS and login.

It keeps every message it accepted (envelope and parsed message); it accepts the login
``ledger`` with :data:`PASSWORD` only, and only after STARTTLS.
"""

from __future__ import annotations

import email
import email.policy
import ssl
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.test_e2e import free_port
from tests.test_tls import self_signed

USERNAME = "ledger"
PASSWORD = "Mail-secret-9"


class Inbox:
    """The aiosmtpd handler: accepted messages, parsed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.original_content,
                                          policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() and \
        auth_data.password == PASSWORD.encode()
    # handled=False: aiosmtpd answers the refusal itself (535).
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """``with SmtpServer(folder) as smtp:`` serves on ``smtp.port``; ``smtp.cert`` is the
    self-signed certificate (for the client's ``ca_file``)."""

    def __init__(self, folder: Path) -> None:
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     tls_context=context, require_starttls=True,
                                     authenticator=_authenticate, auth_require_tls=True)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def messages(self):
        return self.inbox.messages
