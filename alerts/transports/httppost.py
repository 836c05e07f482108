"""One JSON POST over http.client, with the point of no return reported.

``written()`` is called when everything but the body's last byte has left: until then the
receiver cannot have acted on the request (it waits for ``Content-Length`` bytes), after
it the receiver may have. ``requests`` cannot stop there; the deliverer's exactly-once
rule needs exactly that moment.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from typing import Any

from alerts.transports import DeliveryError, NoAnswer, Written

USER_AGENT = "infra-ledger-alerts/1"


def post_json(url: str, body: Any, written: Written, *, timeout: float = 10.0,
              headers: dict[str, str] | None = None, ca_file: str | None = None
              ) -> tuple[int, bytes]:
    """POST ``body`` as JSON; returns (status, answer). Connection failures before the
    request left raise a retryable DeliveryError; a missing answer after it, NoAnswer."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    where = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=context)
    elif parts.scheme == "http":
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    else:
        raise DeliveryError(f"unsupported URL scheme {parts.scheme!r}", retry=False)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        try:
            conn.connect()
            conn.putrequest("POST", target, skip_accept_encoding=True)
            for name, value in {"Content-Type": "application/json; charset=utf-8",
                                "User-Agent": USER_AGENT, "Content-Length": str(len(data)),
                                **(headers or {})}.items():
                conn.putheader(name, value)
            conn.endheaders()
            conn.send(data[:-1])
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"cannot send to {where}: {exc}", retry=True) from None
        # The receiver cannot act on a body one byte short of its Content-Length: the mark
        # is committed before the last byte leaves, so a crash before it is safe to retry.
        written()
        try:
            conn.send(data[-1:])
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise NoAnswer(f"no answer from {where}: {exc}") from None
    finally:
        conn.close()


def check_status(status: int, answer: bytes, where: str) -> None:
    """Raise DeliveryError for an HTTP error: 429 and 5xx are retried, other 4xx are not."""
    if 200 <= status < 300:
        return
    text = answer[:200].decode("utf-8", "replace")
    raise DeliveryError(f"{where} answered HTTP {status}: {text}",
                        retry=status == 429 or status >= 500)
