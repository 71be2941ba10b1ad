from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import Any

import jwt
import pytest

from rapport.auth.tokens import TokenVerifier, issue_token, verify_token
from rapport.errors import ConfigurationError, Unauthenticated
from rapport.settings import Settings

SETTINGS = Settings.from_env({"RAPPORT_ENV": "test", "RAPPORT_JWT_SECRET": "t" * 64})
OTHER_KEY = "o" * 64


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "rapport",
        "sub": "alice",
        "tenant": "acme",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], key: str = SETTINGS.jwt_secret) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_round_trips_to_a_principal() -> None:
    # given
    token = issue_token(SETTINGS, tenant="acme", subject="alice", roles=["admin", "hr"])
    # when
    principal = verify_token(SETTINGS, token)
    # then
    assert principal.tenant == "acme"
    assert principal.subject == "alice"
    assert principal.roles == frozenset({"admin", "hr"})
    assert principal.is_admin and not principal.is_operator
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "sub", "tenant", "roles", "iat", "exp", "jti"}
    assert claims["exp"] - int(claims["iat"]) == SETTINGS.jwt_ttl_seconds
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_operator_token_has_no_tenant_claim() -> None:
    token = issue_token(SETTINGS, tenant=None, subject="ops", roles=["operator"])
    assert "tenant" not in jwt.decode(token, options={"verify_signature": False})
    principal = verify_token(SETTINGS, token)
    assert principal.tenant is None and principal.is_operator


def test_every_token_gets_its_own_jti_and_the_ttl_asked_for() -> None:
    first = issue_token(SETTINGS, tenant="acme", subject="a", roles=["admin"], ttl_seconds=5)
    second = issue_token(SETTINGS, tenant="acme", subject="a", roles=["admin"], ttl_seconds=5)
    one, two = (jwt.decode(t, options={"verify_signature": False}) for t in (first, second))
    assert one["jti"] != two["jti"]
    assert one["exp"] - int(one["iat"]) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tenant": None, "roles": ["admin"]}, "operator role"),
        ({"tenant": "Not A Slug", "roles": ["admin"]}, "not a tenant slug"),
        ({"tenant": "acme", "roles": ["admin"], "ttl_seconds": 0}, "not positive"),
        ({"tenant": "acme", "roles": [""]}, "non-empty"),
    ],
)
def test_issue_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        issue_token(SETTINGS, subject="a", **kwargs)


def test_a_short_secret_is_refused_before_signing() -> None:
    weak = replace(SETTINGS, jwt_secret="short")
    with pytest.raises(ConfigurationError, match="shorter than 32 bytes") as caught:
        issue_token(weak, tenant="acme", subject="a", roles=["admin"])
    assert "openssl rand" in caught.value.hint


def _rejection(token: str | None) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verify_token(SETTINGS, token)
    assert caught.value.code == "UNAUTHENTICATED"
    assert caught.value.hint  # every rejection says how to get a good token
    return caught.value


def test_missing_token() -> None:
    assert "No access token" in _rejection(None).message
    assert "Bearer" in _rejection("").hint


def test_malformed_token() -> None:
    assert "malformed" in _rejection("not-a-jwt").message


def test_forged_signature() -> None:
    error = _rejection(_sign(_claims(), key=OTHER_KEY))
    assert "signature is not valid" in error.message


def test_tampered_payload_keeps_the_old_signature_and_fails() -> None:
    header, _, signature = _sign(_claims()).split(".")
    forged = ".".join([header, _b64(_claims(tenant="victim")), signature])
    assert "signature is not valid" in _rejection(forged).message


def test_expired_token_says_when() -> None:
    long_ago = int(time.time()) - 3600
    error = _rejection(_sign(_claims(iat=long_ago - 60, exp=long_ago)))
    assert "expired at" in error.message
    assert "Issue a new token" in error.hint


def test_wrong_issuer() -> None:
    assert "issued by someone else" in _rejection(_sign(_claims(iss="evil"))).message


@pytest.mark.parametrize("claim", ["sub", "roles", "exp", "iat", "jti", "iss"])
def test_missing_claim_is_named(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    assert repr(claim) in _rejection(_sign(claims)).message


def test_missing_tenant_claim_without_operator_role() -> None:
    error = _rejection(_sign(_claims(tenant=None)))
    assert "lacks the 'tenant' claim" in error.message


def test_tenant_claim_must_be_a_slug() -> None:
    assert "not a tenant slug" in _rejection(_sign(_claims(tenant="../x"))).message


def test_roles_claim_must_be_a_list_of_names() -> None:
    assert "'roles' claim" in _rejection(_sign(_claims(roles="admin"))).message


def test_alg_none_is_refused() -> None:
    # given: an unsigned token, as an attacker would craft it
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    # then
    error = _rejection(unsigned)
    assert "'none'" in error.message and "HS256" in error.message


def test_other_algorithms_are_refused() -> None:
    token = jwt.encode(_claims(), SETTINGS.jwt_secret, algorithm="HS512")
    assert "'HS512'" in _rejection(token).message


def test_token_issued_in_the_future_is_refused() -> None:
    later = int(time.time()) + 3600
    assert "not valid yet" in _rejection(_sign(_claims(iat=later, exp=later + 60))).message


def test_verifier_caches_until_the_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    verifier = TokenVerifier(SETTINGS, max_size=2)
    token = issue_token(SETTINGS, tenant="acme", subject="a", roles=["admin"], ttl_seconds=60)
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # served from the cache
    # when: the cache's clock passes the token's exp
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    # then: the token is verified afresh (pyjwt reads its own clock), not served from the cache
    assert verifier.verify(token) is not first


def test_verifier_is_a_bounded_lru() -> None:
    verifier = TokenVerifier(SETTINGS, max_size=2)
    tokens = [issue_token(SETTINGS, tenant="acme", subject=s, roles=["admin"]) for s in "abc"]
    for token in tokens:
        verifier.verify(token)
    assert len(verifier) == 2
    assert verifier.verify(tokens[0]).subject == "a"  # evicted, verified again


def test_verifier_never_caches_rejections() -> None:
    verifier = TokenVerifier(SETTINGS)
    forged = _sign(_claims(), key=OTHER_KEY)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)
    assert len(verifier) == 0


def test_tokens_from_another_deployment_fail() -> None:
    other = replace(SETTINGS, jwt_secret=OTHER_KEY)
    token = issue_token(other, tenant="acme", subject="a", roles=["admin"])
    assert "signature is not valid" in _rejection(token).message
