"""Login throttling: per client address and per login, the same for unknown and known logins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from ipaddress import ip_network

import httpx
import pytest

from rapport.auth.throttle import LoginThrottle
from rapport.auth.users import create_user
from rapport.db.database import Database
from rapport.errors import RateLimited
from rapport.settings import IdentitySettings, Settings
from tests.auth.conftest import IDENTITY, PASSWORD
from tests.live_server import LiveServer

TIGHT = replace(
    IDENTITY,
    login_rate_address_per_minute=1,
    login_rate_address_burst=10,
    login_rate_login_per_minute=1,
    login_rate_login_burst=4,
)


def _proxied(*networks: str) -> LoginThrottle:
    return LoginThrottle(
        replace(IdentitySettings(), trusted_proxies=tuple(ip_network(n) for n in networks))
    )


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    # given
    untrusting = LoginThrottle(IdentitySettings())
    proxied = _proxied("10.0.0.0/8")
    # when / then
    assert untrusting.client_address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert proxied.client_address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert proxied.client_address("10.0.0.2", "198.51.100.1") == "198.51.100.1"
    # the right-most untrusted entry: what the client wrote on the left proves nothing
    assert proxied.client_address("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3") == "198.51.100.1"
    assert proxied.client_address("10.0.0.2", "garbage") == "10.0.0.2"
    assert proxied.client_address("10.0.0.2", "10.0.0.5") == "10.0.0.5"


def test_the_per_login_bucket_is_keyed_by_what_was_sent() -> None:
    # given
    throttle = LoginThrottle(replace(IdentitySettings(), login_rate_login_burst=2))
    # when: two attempts on one login from different addresses, then a third
    throttle.take("192.0.2.1", "acme", "Ada")
    throttle.take("192.0.2.2", "acme", "ada ")
    with pytest.raises(RateLimited) as caught:
        throttle.take("192.0.2.3", "acme", "ADA")
    # then
    assert caught.value.details["retryAfter"] >= 1
    throttle.take("192.0.2.3", "acme", "bob")  # another login is not affected


@pytest.fixture(scope="module")
def tight(settings: Settings, tenants: tuple[str, str]) -> Iterator[LiveServer]:
    with LiveServer(replace(settings, identity=TIGHT)) as live:
        yield live


def _attempt(server: LiveServer, login: str, **headers: str) -> httpx.Response:
    body = {"tenant": "acme", "login": login, "password": "wrong-Password-1"}
    return httpx.post(server.url + "/auth/login", json=body, headers=headers)


def test_twenty_failed_logins_for_unknown_names_are_slowed_down(tight: LiveServer) -> None:
    # when: 20 unknown names from one address, as fast as possible (well within 3 s)
    answers = [_attempt(tight, f"nobody{i}@acme.test") for i in range(20)]
    # then: the burst passes (as failures), the rest is 429 with Retry-After
    codes = [a.status_code for a in answers]
    assert codes[:10] == [401] * 10
    assert set(codes[10:]) == {429}
    limited = answers[-1]
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # a forged X-Forwarded-For does not buy a fresh bucket (no trusted proxy is configured)
    assert (
        _attempt(tight, "again@acme.test", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    )


async def test_unknown_and_known_logins_get_the_same_answers(
    database: Database, settings: Settings, tenants: tuple[str, str]
) -> None:
    # given: one known login; a fresh server per login so each has a full address bucket
    await create_user(
        database,
        settings.identity,
        tenant="acme",
        login="known@acme.test",
        roles=["reader"],
        password=PASSWORD,
        actor="test",
    )
    answers: dict[str, list[tuple[int, str]]] = {}
    for login in ("known@acme.test", "unknown@acme.test"):
        with LiveServer(replace(settings, identity=replace(TIGHT, lockout_attempts=100))) as live:
            # when: six wrong passwords in a row
            responses = [_attempt(live, login) for _ in range(6)]
        answers[login] = [
            (r.status_code, r.json()["errors"][0]["extensions"]["code"]) for r in responses
        ]
    # then: the same sequence — four failures, then throttled — for both
    assert answers["known@acme.test"] == answers["unknown@acme.test"]
    assert [code for code, _ in answers["known@acme.test"]] == [401] * 4 + [429] * 2


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    settings: Settings, tenants: tuple[str, str]
) -> None:
    # given: the loopback peer is a trusted proxy
    identity = replace(TIGHT, trusted_proxies=(ip_network("127.0.0.0/8"),))
    with LiveServer(replace(settings, identity=identity)) as proxied:
        # when: one client exhausts its bucket, then another client comes through the proxy
        first = [
            _attempt(proxied, f"p{i}@acme.test", **{"X-Forwarded-For": "198.51.100.1"})
            for i in range(11)
        ]
        other = _attempt(proxied, "q@acme.test", **{"X-Forwarded-For": "198.51.100.2"})
    # then
    assert first[-1].status_code == 429
    assert other.status_code == 401
