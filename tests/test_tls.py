"""The web tier under gunicorn with config/gunicorn.conf.py: TLS 1.2+ only, Secure cookies."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.test_e2e import free_port

REPO = Path(__file__).resolve().parent.parent


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def gunicorn(tmp_path):
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {**os.environ, "INFRA_LEDGER_BIND": f"127.0.0.1:{port}", "INFRA_LEDGER_WORKERS": "1",
           "INFRA_LEDGER_TLS_CERT": str(cert), "INFRA_LEDGER_TLS_KEY": str(key),
           "INFRA_LEDGER_DATA_DIR": str(tmp_path / "data")}
    env.pop("INFRA_LEDGER_CONFIG", None)
    log = open(tmp_path / "gunicorn.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                             "wsgi:app"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield port, cert, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.seek(0)
        print(log.read())
        log.close()


def get(port: int, context: ssl.SSLContext, path: str) -> http.client.HTTPResponse:
    deadline = time.monotonic() + 60
    while True:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response
        except (ConnectionRefusedError, ConnectionResetError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        finally:
            connection.close()


def test_gunicorn_serves_tls_with_secure_cookies(gunicorn):
    port, cert, proc = gunicorn
    context = ssl.create_default_context(cafile=str(cert))
    response = get(port, context, "/login")
    assert response.status == 200
    assert "Secure" in response.getheader("Set-Cookie")
    assert response.getheader("Strict-Transport-Security").startswith("max-age=")
    assert get(port, context, "/metrics").status == 200         # loopback: open
    old = ssl.create_default_context(cafile=str(cert))
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_2
    assert get(port, old, "/login").status == 200
    legacy = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    legacy.load_verify_locations(str(cert))
    legacy.set_ciphers("AES128-SHA:@SECLEVEL=0")                 # no forward secrecy
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        get(port, legacy, "/login")
    assert proc.poll() is None
