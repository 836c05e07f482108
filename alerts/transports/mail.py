"""E-mail over SMTP: STARTTLS (or implicit TLS) and AUTH, one message per notification.

Options: ``to`` (a list), ``from``, ``smarthost`` (host:port), ``starttls`` (default on),
``tls`` (implicit TLS, port 465), ``username`` and ``password`` (``env:``/``file:``),
``ca_file`` (a private CA), ``timeout``. The DATA phase is driven by hand: ``written()``
is reported after the message and before the terminating dot (the server accepts nothing
until the dot), which is the deliverer's point of no return; the ``Message-ID`` carries
the outbox id.
"""

from __future__ import annotations

import email.message
import email.policy
import email.utils
import re
import smtplib
import socket
import ssl
from typing import Any

from alerts import messages
from alerts.transports import DeliveryError, NoAnswer, Transport, Written


class EmailTransport(Transport):
    """Send a plain-text e-mail."""

    kind = "email"

    def _message(self, payload: dict[str, Any]) -> email.message.EmailMessage:
        message = email.message.EmailMessage()
        message["Subject"] = messages.title(payload, self.language)
        message["From"] = self.options["from"]
        message["To"] = ", ".join(self.options["to"])
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = (f"<alert-{payload.get('notification', 'test')}."
                                 f"{email.utils.make_msgid().strip('<>')}>")
        message.set_content(messages.text(payload, self.language, self.max_alerts))
        return message

    def send(self, payload: dict[str, Any], written: Written) -> None:
        host, _, port = str(self.options["smarthost"]).rpartition(":")
        timeout = float(self.options.get("timeout", 10.0))
        context = ssl.create_default_context(cafile=self.options.get("ca_file"))
        data = self._message(payload).as_bytes(policy=email.policy.SMTP)
        try:
            if self.options.get("tls"):
                smtp = smtplib.SMTP_SSL(host, int(port), timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(host, int(port), timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach {host}:{port}: {exc}", retry=True) from None
        try:
            self._converse(smtp, context, data, written)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _converse(self, smtp: smtplib.SMTP, context: ssl.SSLContext, data: bytes,
                  written: Written) -> None:
        try:
            smtp.ehlo()
            if self.options.get("starttls", True) and not self.options.get("tls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            user = self.options.get("username")
            if user:
                smtp.login(user, self.secret("password") or "")
            smtp.mail(self.options["from"])
            for rcpt in self.options["to"]:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    raise DeliveryError(f"recipient {rcpt} refused: {code} {reply!r}",
                                        retry=code >= 400 and code < 500)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise DeliveryError(f"DATA refused: {code} {reply!r}", retry=code < 500)
            body = re.sub(rb"(?m)^\.", b"..", data)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            smtp.send(body)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"authentication failed: {exc.smtp_code}", retry=False) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"the server does not offer it: {exc}", retry=False) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP conversation failed: {exc}", retry=True) from None
        # The server accepts nothing before the terminating dot: mark, then send it.
        written()
        try:
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException, socket.timeout) as exc:
            raise NoAnswer(f"no answer after the message was sent: {exc}") from None
        if code != 250:
            raise DeliveryError(f"message refused: {code} {reply!r}", retry=code < 500)
