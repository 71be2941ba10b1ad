"""Login throttling: token buckets per client address and per login (``RAPPORT_LOGIN_RATE_*``).

Each ``/auth/login`` attempt takes a token from the bucket of its client address and from the
bucket of its (tenant, login) — before the password is checked, and keyed on what the caller
sent, so an unknown login is throttled exactly like a known one and the answer (429
``RATE_LIMITED`` with ``Retry-After``) says nothing about which logins exist. The per-address
bucket stops one machine spraying many logins; the per-login bucket stops many machines
guessing one account's password (the lockout stops that too, but later and harder).

The client address is the TCP peer. Behind a reverse proxy every request comes from the proxy,
so name it in ``RAPPORT_TRUSTED_PROXIES`` (addresses or CIDRs): when the peer is one of them,
the client is the right-most ``X-Forwarded-For`` entry that is not a trusted proxy (entries left
of it were written by the client and prove nothing). Without that setting the header is ignored:
anyone can send it.

Buckets live in the process (like the public endpoint's), so with N instances behind a balancer
a client gets up to N times the rate; the lockout, kept in the catalog, still bounds guesses.
"""

from __future__ import annotations

import math
from ipaddress import IPv4Address, IPv6Address, ip_address

from rapport.errors import RateLimited
from rapport.ratelimit import TokenBuckets
from rapport.settings import IdentitySettings

__all__ = ["LoginThrottle"]


class LoginThrottle:
    def __init__(self, identity: IdentitySettings) -> None:
        self._by_address = TokenBuckets(
            identity.login_rate_address_per_minute, identity.login_rate_address_burst
        )
        self._by_login = TokenBuckets(
            identity.login_rate_login_per_minute, identity.login_rate_login_burst
        )
        self._trusted = identity.trusted_proxies

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The address to throttle: the peer, or the client a trusted proxy names."""
        if peer is None:
            return "unknown"
        if not forwarded_for or not self._is_trusted(peer):
            return peer
        client = peer
        for entry in reversed(forwarded_for.split(",")):
            candidate = entry.strip()
            if not self._is_trusted(candidate):
                return candidate if _parse(candidate) is not None else client
            client = candidate
        return client

    def _is_trusted(self, address: str) -> bool:
        parsed = _parse(address)
        return parsed is not None and any(parsed in network for network in self._trusted)

    def take(self, address: str, tenant: str, login: str) -> None:
        """Count one login attempt; RATE_LIMITED (with ``retryAfter``) when over a limit."""
        wait = self._by_address.take(address)
        if wait <= 0:
            wait = self._by_login.take(f"{tenant}\x00{login.strip().lower()}")
        _refuse_after(wait)

    def take_address(self, address: str) -> None:
        """Count one attempt that names no login (WeCom/DingTalk H5 login: the platform's code
        names the account); RATE_LIMITED when the address is over its limit."""
        _refuse_after(self._by_address.take(address))


def _refuse_after(wait: float) -> None:
    if wait > 0:
        seconds = math.ceil(wait) if math.isfinite(wait) else 3600
        raise RateLimited(
            "Too many login attempts; slow down.",
            hint=f"Retry in {seconds} seconds.",
            details={"retryAfter": seconds},
        )


def _parse(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(address)
    except ValueError:
        return None
