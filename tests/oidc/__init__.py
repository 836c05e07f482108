"""A real OpenID Connect provider for tests: node's oidc-provider, started on loopback."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import requests

FOLDER = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OidcProvider:
    """``node provider.mjs`` with one client and the given accounts; stopped by its PID."""

    def __init__(self, client_id: str, secret: str, redirect_uris: list[str],
                 accounts: dict[str, dict], log: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PORT": str(self.port), "CLIENT_ID": client_id,
                    "CLIENT_SECRET": secret, "REDIRECT_URIS": json.dumps(redirect_uris),
                    "ACCOUNTS": json.dumps(accounts, ensure_ascii=False)}
        self.log_path = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "OidcProvider":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["node", str(FOLDER / "provider.mjs")], cwd=FOLDER,
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"oidc-provider did not start: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._log.close()

    def sign_in(self, authorize_url: str, login: str, redirect_uri: str) -> str:
        """Walk the provider's own login and consent pages as a browser would; returns the
        redirect back to the relying party (its callback URL with code and state)."""
        browser = requests.Session()
        url, method, data = authorize_url, "GET", None
        with browser:
            for _ in range(12):
                response = browser.request(method, url, data=data, allow_redirects=False,
                                           timeout=10)
                location = response.headers.get("Location")
                if location:
                    url = urllib.parse.urljoin(url, location)
                    if url.startswith(redirect_uri):
                        return url
                    method, data = "GET", None
                    continue
                form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', response.text)
                assert form, response.text[:2000]
                fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                         response.text))
                if 'name="login"' in response.text:
                    fields.update(login=login, password="any")
                url = urllib.parse.urljoin(url, html.unescape(form.group(1)))
                method, data = "POST", fields
        raise AssertionError("the provider never sent the browser back")
