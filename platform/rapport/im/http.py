"""H5 login endpoints for WeCom and DingTalk (``{platform}`` is ``wecom`` or ``dingtalk``).

JSON in, JSON out, like ``/auth/login`` (errors in the same body):

- ``POST /auth/im/{platform}/authorize`` ``{tenant, redirectUri}`` → ``{authorizeUrl, state,
  expiresIn}`` and an HttpOnly cookie ``rapport_im_login`` (path ``/auth/im``) binding the state
  to this browser. The H5 page sends the browser to ``authorizeUrl``.
- ``POST /auth/im/{platform}/login`` ``{tenant, code, state}`` (with that cookie) → the
  ``/auth/login`` answer: ``{accessToken, refreshToken, tokenType, expiresIn, userId, roles}``.
  DingTalk returns the code as ``authCode``; either name is accepted.

Both are throttled per client address with ``/auth/login``'s buckets (429 ``RATE_LIMITED``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.auth.throttle import LoginThrottle
from rapport.db.database import Database
from rapport.errors import BadRequest, DatabaseUnavailable, RapportError
from rapport.im.apps import keyring_for
from rapport.im.login import authorize, login
from rapport.settings import Settings

__all__ = ["BROWSER_COOKIE", "IM_ROUTES"]

log = logging.getLogger(__name__)

BROWSER_COOKIE = "rapport_im_login"
_COOKIE_PATH = "/auth/im"
_NO_STORE = {"Cache-Control": "no-store"}
_MAX_BODY = 16 * 1024


class _Auth(Protocol):
    @property
    def logins(self) -> LoginThrottle: ...


class _Services(Protocol):
    """What these endpoints use of the app's services (rapport.services.Services)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def auth(self) -> _Auth: ...


def _throttle(request: Request, svc: _Services) -> None:
    """The same per-address budget as ``/auth/login``: each H5 step counts as one attempt."""
    throttle = svc.auth.logins
    throttle.take_address(
        throttle.client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
        )
    )


def _services(request: Request) -> _Services:
    found: Any = getattr(request.app.state, "services", None)
    if found is None:
        raise DatabaseUnavailable("The server is still starting.", hint="Retry in a moment.")
    return found  # type: ignore[no-any-return]


async def _json(request: Request) -> dict[str, Any]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _Unsupported
    body = await request.body()
    try:
        value = json.loads(body or b"{}") if len(body) <= _MAX_BODY else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        value = None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.", hint='Send {"field": ...}.')
    return value


def _string(body: dict[str, Any], *names: str) -> str:
    """The first of ``names`` present, a non-empty string (DingTalk calls the code authCode)."""
    value = next((body[n] for n in names if body.get(n) is not None), None)
    if not isinstance(value, str) or not value:
        raise BadRequest(
            f"`{names[0]}` must be a non-empty string.",
            path=(names[0],),
            hint="See docs/wecom-dingtalk.md.",
        )
    return value


class _Unsupported(Exception):
    pass


def _error(status: int, error: RapportError) -> Response:
    body = {"errors": [{"message": error.message, "extensions": error.extensions()}]}
    headers = dict(_NO_STORE)
    if "retryAfter" in error.details:
        headers["Retry-After"] = str(error.details["retryAfter"])
    return JSONResponse(body, status, headers=headers)


def _guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except _Unsupported:
            return _error(415, BadRequest("Send Content-Type: application/json."))
        except RapportError as exc:
            return _error(exc.http_status, exc)
        except Exception:
            log.exception("unexpected error serving %s", request.url.path)
            return _error(500, RapportError("The server failed to handle the request."))

    return endpoint


async def _authorize(request: Request) -> Response:
    svc = _services(request)
    _throttle(request, svc)
    body = await _json(request)
    granted = await authorize(
        svc.db,
        svc.settings,
        keyring_for(svc.settings),
        tenant=_string(body, "tenant"),
        platform=request.path_params["platform"],
        redirect_uri=_string(body, "redirectUri"),
    )
    response = JSONResponse(
        {"authorizeUrl": granted.url, "state": granted.state, "expiresIn": granted.expires_in},
        headers=_NO_STORE,
    )
    response.set_cookie(
        BROWSER_COOKIE,
        granted.browser,
        max_age=granted.expires_in,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


async def _login(request: Request) -> Response:
    svc = _services(request)
    _throttle(request, svc)
    body = await _json(request)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        session = await login(
            svc.db,
            svc.settings,
            keyring_for(svc.settings),
            http,
            tenant=_string(body, "tenant"),
            platform=request.path_params["platform"],
            code=_string(body, "code", "authCode"),
            state=_string(body, "state"),
            browser=request.cookies.get(BROWSER_COOKIE),
        )
    response = JSONResponse(session.as_json(), headers=_NO_STORE)
    response.delete_cookie(BROWSER_COOKIE, path=_COOKIE_PATH)
    return response


IM_ROUTES = [
    Route("/auth/im/{platform}/authorize", _guarded(_authorize), methods=["POST"]),
    Route("/auth/im/{platform}/login", _guarded(_login), methods=["POST"]),
]
