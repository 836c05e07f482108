"""OpenID Connect single sign-on (authorization code flow with PKCE) through Authlib.

Authlib's requests client builds the authorization request and redeems the code; the ID
token is verified (signature from the provider's JWKS, issuer, audience, expiry, nonce,
at_hash) with joserfc and Authlib's ``CodeIDToken`` rules, and the userinfo endpoint adds
the claims the provider keeps there. The state, nonce and PKCE verifier live in the
server-side login session, never in a cookie. :func:`map_claims` turns claims into an
account name, roles and a department as ``security.oidc`` says.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from monitor.security_config import OidcSettings

METADATA_SECONDS = 3600


class OidcError(Exception):
    """The provider's answer could not be trusted or used."""


@dataclass(frozen=True)
class Mapped:
    """What the claims give the account."""

    subject: str
    username: str
    display_name: str | None
    roles: frozenset[str]
    department: str | None


class OidcClient:
    """One relying-party registration at one provider."""

    def __init__(self, settings: OidcSettings, client_secret: str | None) -> None:
        self.settings = settings
        self.secret = client_secret
        self._metadata: tuple[float, dict] | None = None
        self._lock = threading.Lock()

    def metadata(self) -> dict:
        """The provider's discovery document (cached for an hour)."""
        with self._lock:
            if self._metadata and self._metadata[0] > time.monotonic():
                return self._metadata[1]
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            response = requests.get(url, timeout=self.settings.timeout)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise OidcError(f"the provider calls itself {document.get('issuer')!r}")
            document["jwks"] = requests.get(document["jwks_uri"],
                                            timeout=self.settings.timeout).json()
            self._metadata = (time.monotonic() + METADATA_SECONDS, document)
            return document

    def _session(self, redirect_uri: str, state: str | None = None) -> OAuth2Session:
        return OAuth2Session(self.settings.client_id, self.secret,
                             scope=" ".join(self.settings.scopes), redirect_uri=redirect_uri,
                             state=state, code_challenge_method="S256")

    def start(self, redirect_uri: str) -> tuple[str, dict]:
        """The URL to send the browser to, and what the callback must find again."""
        verifier, nonce = generate_token(48), generate_token(24)
        with self._session(redirect_uri) as session:
            url, state = session.create_authorization_url(
                self.metadata()["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        return url, {"state": state, "nonce": nonce, "verifier": verifier,
                     "redirect_uri": redirect_uri}

    def finish(self, pending: dict, args: dict) -> dict:
        """Redeem the callback's code; the verified claims (ID token plus userinfo)."""
        if args.get("error"):
            raise OidcError(f"{args.get('error')}: {args.get('error_description', '')}")
        if not args.get("code") or args.get("state") != pending.get("state"):
            raise OidcError("the answer does not belong to this login (state)")
        metadata = self.metadata()
        with self._session(pending["redirect_uri"], pending["state"]) as session:
            token = session.fetch_token(metadata["token_endpoint"], code=args["code"],
                                        code_verifier=pending["verifier"],
                                        timeout=self.settings.timeout)
            claims = self._id_token(token, pending["nonce"], metadata)
            if metadata.get("userinfo_endpoint"):
                info = session.get(metadata["userinfo_endpoint"],
                                   timeout=self.settings.timeout).json()
                if info.get("sub") != claims["sub"]:
                    raise OidcError("userinfo is about another subject")
                claims = {**info, **claims}
        return claims

    def _id_token(self, token: dict, nonce: str, metadata: dict) -> dict:
        if "id_token" not in token:
            raise OidcError("the provider sent no ID token")
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        try:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(metadata["jwks"]),
                                 registry=JWSRegistry(algorithms=algorithms))
            claims = CodeIDToken(decoded.claims, decoded.header,
                                 {"iss": {"values": [metadata["issuer"]]}},
                                 {"nonce": nonce, "client_id": self.settings.client_id,
                                  "access_token": token.get("access_token")})
            claims.validate(leeway=60)
        except Exception as exc:  # noqa: BLE001 - every failure means: do not trust it
            raise OidcError(f"ID token refused: {exc}") from None
        return dict(claims)


def map_claims(settings: OidcSettings, claims: dict) -> Mapped:
    """Account name, roles and department from verified claims."""
    values = claims.get(settings.roles_claim) or []
    if isinstance(values, str):
        values = values.split()
    roles = frozenset(settings.role_map[v] for v in values if v in settings.role_map)
    department = claims.get(settings.department_claim) or None
    username = claims.get(settings.username_claim) or claims["sub"]
    return Mapped(f"{settings.issuer} {claims['sub']}", str(username),
                  claims.get(settings.display_name_claim),
                  roles, str(department) if department is not None else None)
