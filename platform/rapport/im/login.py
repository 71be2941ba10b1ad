"""H5 login with WeCom or DingTalk: OAuth code → platform account → Rapport user → session.

1. :func:`authorize` (the H5 page asks before sending the browser to the platform): checks the
   redirect URI against the app's registered ones, stores a one-time ``state`` bound to this
   browser (the SHA-256 of a random cookie value the caller sets HttpOnly), and returns the
   platform's authorize URL.
2. The platform sends the browser back to the H5 page with ``code`` and ``state``.
3. :func:`login`: the state must be known, unused, unexpired, for this tenant and platform, and
   presented by the same browser (a CSRF'd or replayed login fails here); it is spent at once,
   whatever follows. The code becomes the platform account (:mod:`rapport.im.wecom`,
   :mod:`rapport.im.dingtalk`); the account's linked user, or on first login the one user the
   app's rules find (:mod:`rapport.im.identities`), gets the same access and refresh tokens as
   ``/auth/login``. An account that matches nobody is refused and audited, and so is one
   ``/auth/login`` would refuse without asking for the password: a disabled or locked user,
   or one who must give a TOTP code (enrolled, or an administrator of a tenant that requires
   it), which this flow cannot ask for. Both endpoints are throttled per client address like
   ``/auth/login`` (:mod:`rapport.auth.throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from rapport.auth.auditing import audit
from rapport.auth.sessions import Session, needs_second_factor, start_session
from rapport.crypto.keys import KeyRing
from rapport.db.database import Connection, Database
from rapport.errors import BadRequest, LoginFailed, NotFound, PlatformError, TotpRequired
from rapport.im.apps import platform_named, require_app
from rapport.im.identities import link_account
from rapport.im.platform import TokenRejected
from rapport.im.tokens import with_token
from rapport.settings import Settings

__all__ = ["Authorization", "authorize", "login"]

_RESTART = "Start the login again from the H5 page."
_REASONS = {
    "unmatched": "no Rapport user matches its employee number or mobile",
    "ambiguous": "several Rapport users match it",
    "taken": "the matching Rapport user is already linked to another account",
    "disabled": "its Rapport user is disabled",
    "locked": "its Rapport user is locked after failed logins",
}


async def _refusal(conn: Connection, tenant_id: str, user: asyncpg.Record | None) -> str | None:
    """Why the matched user may not sign in: the rules of ``/auth/login`` except the password."""
    if user is None or user["status"] != "active":
        return "disabled"
    if user["locked_until"] is not None and user["locked_until"] > datetime.now(UTC):
        return "locked"
    roles = tuple(user["roles"])
    if await needs_second_factor(conn, tenant_id, roles, totp_enabled=user["totp_enabled"]):
        return "second factor"
    return None


@dataclass(frozen=True, slots=True)
class Authorization:
    url: str  # send the browser here
    state: str
    browser: str  # the cookie value binding the state to this browser
    expires_in: int


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def _tenant_id(db: Database, slug: str) -> str:
    found = await db.fetchval("SELECT id::text FROM rapport.tenants WHERE slug = $1", slug)
    if found is None:
        raise NotFound(f"There is no tenant {slug!r}.", hint="Use the tenant's slug.")
    return str(found)


async def authorize(
    db: Database,
    settings: Settings,
    keyring: KeyRing,
    *,
    tenant: str,
    platform: str,
    redirect_uri: str,
) -> Authorization:
    chosen = platform_named(platform)
    tenant_id = await _tenant_id(db, tenant)
    config, app = await require_app(db, keyring, tenant_id, chosen.name)
    if redirect_uri not in config.redirect_uris:
        raise BadRequest(
            f"{redirect_uri!r} is not a redirect URI of the tenant's {chosen.label} app.",
            path=("redirectUri",),
            hint="A tenant admin adds it to redirectUris with setImApp (and in the platform's "
            "console: WeCom 可信域名, DingTalk 重定向URL).",
        )
    state, browser = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    ttl = settings.im.login_state_seconds
    await db.execute(
        "INSERT INTO rapport.im_login_states (state_hash, tenant_id, platform, redirect_uri, "
        "browser_hash, expires_at) VALUES ($1, $2::uuid, $3, $4, $5, $6)",
        _digest(state),
        tenant_id,
        chosen.name,
        redirect_uri,
        _digest(browser),
        datetime.now(UTC) + timedelta(seconds=ttl),
    )
    await db.execute("DELETE FROM rapport.im_login_states WHERE expires_at < now()")
    url = chosen.authorize_url(settings.im, app, redirect_uri, state)
    return Authorization(url=url, state=state, browser=browser, expires_in=ttl)


async def login(
    db: Database,
    settings: Settings,
    keyring: KeyRing,
    http: httpx.AsyncClient,
    *,
    tenant: str,
    platform: str,
    code: str,
    state: str,
    browser: str | None,
) -> Session:
    chosen = platform_named(platform)
    tenant_id = await _tenant_id(db, tenant)
    # Spent first and committed: a state works once, even when the login then fails.
    bound = await db.fetchval(
        "UPDATE rapport.im_login_states SET used_at = now() WHERE state_hash = $1 "
        "AND tenant_id = $2::uuid AND platform = $3 AND used_at IS NULL AND expires_at > now() "
        "RETURNING browser_hash",
        _digest(state),
        tenant_id,
        chosen.name,
    )
    if bound is None:
        raise LoginFailed("The login state is unknown, used or expired.", hint=_RESTART)
    if browser is None or not hmac.compare_digest(bytes(bound), _digest(browser)):
        raise LoginFailed("This login was started in another browser.", hint=_RESTART)
    config, app = await require_app(db, keyring, tenant_id, chosen.name)
    try:
        account = await with_token(
            db, keyring, http, settings.im, tenant_id, app,
            lambda token: chosen.user_from_code(http, settings.im, token, app, code),
        )  # fmt: skip
    except TokenRejected:
        raise
    except PlatformError as exc:
        if exc.details.get("unreachable"):
            raise  # the platform is down: 502, not a failed login
        raise LoginFailed(
            f"{chosen.label} did not accept the login: {exc.message}", hint=_RESTART
        ) from None
    async with db.transaction() as conn:
        outcome = await link_account(conn, tenant_id, chosen.name, account, config.link_by)
        user = None
        if outcome.user_id is not None:
            user = await conn.fetchrow(
                "SELECT id::text AS id, roles, status, locked_until, totp_enabled "
                "FROM rapport.users WHERE id = $1::uuid",
                outcome.user_id,
            )
        reason = outcome.reason or await _refusal(conn, tenant_id, user)
        await audit(
            conn,
            tenant_id=tenant_id,
            actor=outcome.user_id,
            action="auth.login_failed" if reason else "auth.login",
            record_id=outcome.user_id,
            data={"via": chosen.name, "account": account.user_id,
                  **({"reason": reason} if reason else {}),
                  **({"linkedBy": outcome.rule} if outcome.new_link else {})},
        )  # fmt: skip
    if reason == "second factor":
        raise TotpRequired(
            "This account signs in with a TOTP code, which the H5 login cannot ask for.",
            hint="Log in with POST /auth/login: login, password and the code of your "
            "authenticator app.",
        )
    if reason is not None or user is None:
        raise LoginFailed(
            f"Your {chosen.label} account cannot sign in to Rapport: "
            f"{_REASONS.get(reason or 'disabled', reason)}.",
            hint="Ask HR to add your employee number or mobile to your Rapport account, "
            "or to link your account.",
        )
    return await start_session(db, settings, tenant, user["id"], tuple(user["roles"]))
