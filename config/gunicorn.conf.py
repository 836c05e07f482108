"""gunicorn settings of the web tier with TLS: ``gunicorn -c config/gunicorn.conf.py wsgi:app``.

TLS 1.2 and 1.3 only, forward-secret AEAD suites for 1.2; the certificate and key paths
come from the environment (defaults below). With TLS here, the app sees HTTPS itself:
Secure cookies and HSTS follow. Behind a TLS-terminating proxy (nginx, or a gateway
speaking TLCP with SM2 certificates where 商用密码 is required) bind to loopback instead,
set ``forwarded_allow_ips`` to the proxy and ``security.proxy_hops: 1``.
"""

import os
import ssl

bind = os.environ.get("INFRA_LEDGER_BIND", "0.0.0.0:8443")
workers = int(os.environ.get("INFRA_LEDGER_WORKERS", "4"))
certfile = os.environ.get("INFRA_LEDGER_TLS_CERT", "/etc/infra-ledger/tls/server.crt")
keyfile = os.environ.get("INFRA_LEDGER_TLS_KEY", "/etc/infra-ledger/tls/server.key")
timeout = 120                      # a large census import takes a while
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def ssl_context(config, default_ssl_context_factory):
    """The default context (certificate, key) restricted to TLS 1.2+ and strong suites."""
    context = default_ssl_context_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return context
