"""OIDC: RS256 tokens from a configured issuer, keys generated here, JWKS from a file or URL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from rapport.auth.tokens import issue_token
from rapport.settings import Settings
from tests.live_server import LiveServer

ISSUER = "https://idp.example.test"
COUNT = {"query": "{ trainers { totalCount } }"}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}


def _token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "rapport",
        "sub": "u-42",
        "tenant": "acme",
        "groups": ["admin"],
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_url(jwks: dict[str, Any]) -> Iterator[str]:
    _Jwks.body = json.dumps(jwks).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _oidc(settings: Settings, jwks_source: str) -> Settings:
    identity = replace(
        settings.identity,
        oidc_issuer=ISSUER,
        oidc_audience="rapport",
        oidc_jwks=jwks_source,
        oidc_roles_claim="groups",
    )
    return replace(settings, identity=identity)


@pytest.fixture(scope="module")
def jwks_file(jwks: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("oidc") / "jwks.json"
    path.write_text(json.dumps(jwks))
    return path


@pytest.mark.parametrize("source", ["file", "url"])
def test_oidc_tokens_map_claims_to_a_principal(
    settings: Settings,
    tenants: tuple[str, str],
    key: rsa.RSAPrivateKey,
    jwks_file: Path,
    jwks_url: str,
    source: str,
) -> None:
    # given: a server trusting the issuer, with its JWKS from a file or a local URL
    configured = _oidc(settings, str(jwks_file) if source == "file" else jwks_url)
    with LiveServer(configured) as server:
        # when
        good = httpx.post(
            server.url + "/graphql", json=COUNT, headers={"Authorization": f"Bearer {_token(key)}"}
        )
        # then
        assert good.status_code == 200, good.text
        assert "totalCount" in good.text
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for token, message in (
            (_token(other_key), "not valid"),
            (_token(key, exp=int(time.time()) - 100), "expired"),
            (_token(key, aud="someone-else"), "not valid"),
            (_token(key, tenant="Not A Slug"), "tenant"),
            (_token(key, groups=["operator"]), "operator"),
        ):
            response = httpx.post(
                server.url + "/graphql", json=COUNT, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, token
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert message in error["message"]
        # and the kernel's own tokens still work next to OIDC
        kernel = issue_token(configured, tenant="acme", subject="k", roles=["admin"])
        assert (
            httpx.post(
                server.url + "/graphql", json=COUNT, headers={"Authorization": f"Bearer {kernel}"}
            ).status_code
            == 200
        )
