"""Login endpoints: ``POST /auth/login``, ``/auth/refresh``, ``/auth/logout``, ``/auth/totp/*``.

JSON in, JSON out (``Content-Type: application/json`` only: a form post is refused with 415,
like /graphql, so no cross-site form can log someone in or out). Errors are the same
``{"errors": [{"message", "extensions": {"code", "hint"}}]}`` body as GraphQL's.

- ``/auth/login`` ``{tenant, login, password, totp?}`` → ``{accessToken, refreshToken,
  tokenType, expiresIn, userId, roles}``
- ``/auth/refresh`` ``{refreshToken}`` → the same (the refresh token rotates)
- ``/auth/logout`` (Bearer) ``{refreshToken?}`` → 204
- ``/auth/totp/enroll`` (Bearer) ``{code?}`` → ``{otpauthUri}`` once (``code``: a current code,
  required while TOTP is enabled); ``/auth/totp/confirm`` and ``/auth/totp/disable`` (Bearer)
  ``{code}`` → 204

``/auth/login`` is throttled per client address and per login (rapport.auth.throttle): over the
limit it answers 429 ``RATE_LIMITED`` with ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.auth import sessions, totp
from rapport.errors import BadRequest, RapportError, Unauthenticated
from rapport.graphql.http import error_body, services
from rapport.principal import Principal

__all__ = ["AUTH_ROUTES"]

log = logging.getLogger(__name__)
_MAX_BODY = 16 * 1024


def _refused(status: int, error: RapportError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="rapport"'} if status == 401 else {}
    if "retryAfter" in error.details:
        headers["Retry-After"] = str(error.details["retryAfter"])
    return Response(error_body(error), status, media_type="application/json", headers=headers)


async def _json(request: Request) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _Unsupported()
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise BadRequest("The request body is too large.", hint="Send only the documented fields.")
    try:
        value = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest(
            "The request body is not valid JSON.", hint='Send {"field": ...}.'
        ) from None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.", hint='Send {"field": ...}.')
    return value


class _Unsupported(Exception):
    pass


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(
            f"`{name}` must be a non-empty string.", path=(name,), hint="See /auth docs."
        )
    return value


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except _Unsupported:
            return _refused(
                415,
                BadRequest(
                    "Auth requests must be application/json.",
                    hint="Send Content-Type: application/json.",
                ),
            )
        except RapportError as exc:
            return _refused(exc.http_status, exc)
        except Exception:
            log.exception("unexpected error serving %s", request.url.path)
            return _refused(500, RapportError("The server failed to handle the request."))

    return endpoint


async def _principal(request: Request) -> Principal:
    svc = services(request)
    principal = await svc.auth.authenticate(request.headers)
    if principal.token_id is None or principal.tenant is None:
        raise Unauthenticated(
            "This endpoint needs a user's access token from /auth/login.",
            hint="Log in with POST /auth/login and send its accessToken as Bearer.",
        )
    return principal


async def _login(request: Request) -> Response:
    svc = services(request)
    body = await _json(request)
    tenant = _string(body, "tenant") or ""
    login_name = _string(body, "login") or ""
    throttle = svc.auth.logins
    address = throttle.client_address(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for")
    )
    throttle.take(address, tenant, login_name)
    session = await sessions.login(
        svc.db,
        svc.settings,
        tenant=tenant,
        login_name=login_name,
        password=_string(body, "password") or "",
        keyring=svc.auth.keyring,
        totp_code=_string(body, "totp", required=False),
    )
    return JSONResponse(session.as_json(), headers={"Cache-Control": "no-store"})


async def _refresh(request: Request) -> Response:
    svc = services(request)
    body = await _json(request)
    session = await sessions.refresh(svc.db, svc.settings, _string(body, "refreshToken") or "")
    return JSONResponse(session.as_json(), headers={"Cache-Control": "no-store"})


async def _logout(request: Request) -> Response:
    svc = services(request)
    body = await _json(request)
    principal = await _principal(request)
    token = request.headers["authorization"].partition(" ")[2].strip()
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    await sessions.logout(
        svc.db,
        principal,
        refresh_token=_string(body, "refreshToken", required=False),
        access_expires_at=float(expires) if isinstance(expires, int | float) else None,
        revocations=svc.auth.revocations,
    )
    return Response(status_code=204)


async def _totp_enroll(request: Request) -> Response:
    svc = services(request)
    body = await _json(request)
    principal = await _principal(request)
    assert principal.tenant is not None
    code = _string(body, "code", required=False)
    uri = await totp.enroll(svc.db, svc.auth.keyring, principal.tenant, principal.subject, code)
    return JSONResponse({"otpauthUri": uri}, headers={"Cache-Control": "no-store"})


async def _totp_confirm(request: Request) -> Response:
    svc = services(request)
    body = await _json(request)
    principal = await _principal(request)
    assert principal.tenant is not None
    await totp.confirm(
        svc.db, svc.auth.keyring, principal.tenant, principal.subject, _string(body, "code") or ""
    )
    return Response(status_code=204)


async def _totp_disable(request: Request) -> Response:
    svc = services(request)
    body = await _json(request)
    principal = await _principal(request)
    assert principal.tenant is not None
    await totp.disable(
        svc.db, svc.auth.keyring, principal.tenant, principal.subject, _string(body, "code") or ""
    )
    return Response(status_code=204)


AUTH_ROUTES = [
    Route("/auth/login", _guarded(_login), methods=["POST"]),
    Route("/auth/refresh", _guarded(_refresh), methods=["POST"]),
    Route("/auth/logout", _guarded(_logout), methods=["POST"]),
    Route("/auth/totp/enroll", _guarded(_totp_enroll), methods=["POST"]),
    Route("/auth/totp/confirm", _guarded(_totp_confirm), methods=["POST"]),
    Route("/auth/totp/disable", _guarded(_totp_disable), methods=["POST"]),
]
