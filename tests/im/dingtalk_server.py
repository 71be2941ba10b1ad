"""A local DingTalk (钉钉) server following the published server-API contract.

New API (``api.dingtalk.com``): ``POST /v1.0/oauth2/accessToken`` (HTTP 400
``invalidClientIdOrSecret``; the same token while valid), ``POST /v1.0/oauth2/userAccessToken``
(codes valid 5 minutes, once), ``GET /v1.0/contact/users/me`` (header
``x-acs-dingtalk-access-token``; 401 otherwise). Topapi (``oapi.dingtalk.com``), every call with
``?access_token=`` (40014 unknown, 42001 expired): ``message/corpconversation/asyncsend_v2``
(agent_id, userid_list ≤ 5000, msg text/markdown/action_card with required fields; recipients
outside the app's range are dropped, as the real one does asynchronously), ``v2/user/get`` and
``user/getbyunionid`` (60121), ``v2/department/listsub`` (60003), ``v2/user/list`` (cursor
pages, size ≤ 100, else 40035). The login page ``/oauth2/auth`` redirects with ``authCode``
and ``state`` for the person the test names in ``X-Test-Login``. ``down = True``: 503.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CORP_ID = "dingcorp0123456789"
APP_KEY = "dingappkey12345678"
APP_SECRET = "dingtalk-app-secret-" + "y" * 40
AGENT_ID = 2000001


@dataclass
class DingTalkServer:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # userid -> v2/user/get result
    departments: list[dict[str, Any]] = field(default_factory=list)  # {dept_id, parent_id, name}
    visible: set[str] | None = None
    token_ttl: int = 7200
    down: bool = False
    tokens: dict[str, float] = field(default_factory=dict)
    token_calls: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)  # user access token -> userid

    def expire_tokens(self) -> None:
        self.tokens = {t: 0.0 for t in self.tokens}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", lambda r: Response("dingtalk")),
                Route("/v1.0/oauth2/accessToken", self._access_token, methods=["POST"]),
                Route("/v1.0/oauth2/userAccessToken", self._user_access_token, methods=["POST"]),
                Route("/v1.0/contact/users/me", self._me),
                Route(
                    "/topapi/message/corpconversation/asyncsend_v2", self._send, methods=["POST"]
                ),
                Route("/topapi/v2/user/get", self._user_get, methods=["POST"]),
                Route("/topapi/user/getbyunionid", self._by_unionid, methods=["POST"]),
                Route("/topapi/v2/department/listsub", self._listsub, methods=["POST"]),
                Route("/topapi/v2/user/list", self._user_list, methods=["POST"]),
                Route("/oauth2/auth", self._authorize),
            ]
        )

    def _fail(self, errcode: int, errmsg: str) -> JSONResponse:
        return JSONResponse(
            {"errcode": errcode, "errmsg": errmsg, "request_id": secrets.token_hex(6)}
        )

    def _refused(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse(
            {"code": code, "message": message, "requestid": secrets.token_hex(6)}, status
        )

    async def _topapi(self, request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        if self.down:
            return None, JSONResponse({"error": "unavailable"}, 503)
        expiry = self.tokens.get(request.query_params.get("access_token", ""))
        if expiry is None:
            return None, self._fail(40014, "不合法的access_token")
        if expiry <= time.monotonic():
            return None, self._fail(42001, "access_token超时")
        return await request.json(), None

    async def _access_token(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"error": "unavailable"}, 503)
        self.token_calls += 1
        body = await request.json()
        if body.get("appKey") != APP_KEY or body.get("appSecret") != APP_SECRET:
            return self._refused(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        now = time.monotonic()
        valid = [t for t, e in self.tokens.items() if e > now]
        if valid:
            token = valid[0]
        else:
            token = secrets.token_hex(16)
            self.tokens[token] = now + self.token_ttl
        return JSONResponse({"accessToken": token, "expireIn": int(self.tokens[token] - now)})

    async def _user_access_token(self, request: Request) -> Response:
        body = await request.json()
        if body.get("clientId") != APP_KEY or body.get("clientSecret") != APP_SECRET:
            return self._refused(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        if body.get("grantType") != "authorization_code":
            return self._refused(400, "invalidParameter", "grantType")
        found = self.codes.pop(str(body.get("code")), None)
        if found is None or found[1] < time.monotonic():
            return self._refused(400, "invalidAuthCode", "不存在的临时授权码")
        token = secrets.token_hex(16)
        self.user_tokens[token] = found[0]
        return JSONResponse({"accessToken": token, "refreshToken": secrets.token_hex(16),
                             "expireIn": 7200, "corpId": CORP_ID})  # fmt: skip

    async def _me(self, request: Request) -> Response:
        person = self.user_tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if person is None:
            return self._refused(401, "InvalidAuthentication", "不合法的access_token")
        user = self.users.get(person, {"unionid": f"u-{person}", "name": person})
        return JSONResponse({"nick": user.get("name"), "unionId": user.get("unionid"),
                             "openId": f"o-{person}", "mobile": user.get("mobile", ""),
                             "stateCode": "86"})  # fmt: skip

    async def _send(self, request: Request) -> Response:
        body, error = await self._topapi(request)
        if error is not None or body is None:
            return error or self._fail(-1, "系统繁忙")
        if body.get("agent_id") != AGENT_ID:
            return self._fail(400013, "不合法的agent_id")
        msg = body.get("msg") or {}
        required = {"text": ["content"], "markdown": ["title", "text"],
                    "action_card": ["title", "markdown", "single_title", "single_url"]}  # fmt: skip
        kind = msg.get("msgtype")
        content = msg.get(kind) if isinstance(kind, str) else None
        if kind not in required or not isinstance(content, dict):
            return self._fail(40035, "不合法的参数")
        if any(not content.get(k) for k in required[kind]):
            return self._fail(40035, "不合法的参数")
        to = [u for u in str(body.get("userid_list", "")).split(",") if u]
        if not to or len(to) > 5000:
            return self._fail(40035, "不合法的参数")
        delivered = [
            u for u in to if u in self.users and (self.visible is None or u in self.visible)
        ]
        self.messages.append({**body, "delivered": delivered})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "task_id": len(self.messages),
                             "request_id": secrets.token_hex(6)})  # fmt: skip

    async def _user_get(self, request: Request) -> Response:
        body, error = await self._topapi(request)
        if error is not None or body is None:
            return error or self._fail(-1, "系统繁忙")
        user = self.users.get(str(body.get("userid")))
        if user is None:
            return self._fail(60121, "找不到该用户")
        return JSONResponse({"errcode": 0, "errmsg": "ok", "result": user})

    async def _by_unionid(self, request: Request) -> Response:
        body, error = await self._topapi(request)
        if error is not None or body is None:
            return error or self._fail(-1, "系统繁忙")
        for user in self.users.values():
            if user.get("unionid") == body.get("unionid"):
                return JSONResponse({"errcode": 0, "errmsg": "ok",
                                     "result": {"contact_type": 0, "userid": user["userid"]}})  # fmt: skip
        return self._fail(60121, "找不到该用户")

    async def _listsub(self, request: Request) -> Response:
        body, error = await self._topapi(request)
        if error is not None or body is None:
            return error or self._fail(-1, "系统繁忙")
        parent = body.get("dept_id")
        if parent != 1 and parent not in {d["dept_id"] for d in self.departments}:
            return self._fail(60003, "部门不存在")
        children = [d for d in self.departments if d["parent_id"] == parent]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "result": children})

    async def _user_list(self, request: Request) -> Response:
        body, error = await self._topapi(request)
        if error is not None or body is None:
            return error or self._fail(-1, "系统繁忙")
        size, cursor = int(body.get("size", 0)), int(body.get("cursor", 0))
        if not 1 <= size <= 100:
            return self._fail(40035, "不合法的参数")
        dept = body.get("dept_id")
        members = [u for u in self.users.values() if dept in u.get("dept_id_list", [])]
        page = members[cursor : cursor + size]
        more = cursor + size < len(members)
        result: dict[str, Any] = {"has_more": more, "list": page}
        if more:
            result["next_cursor"] = cursor + size
        return JSONResponse({"errcode": 0, "errmsg": "ok", "result": result})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != APP_KEY or q.get("response_type") != "code":
            return Response("bad client_id or response_type", 400)
        if "openid" not in (q.get("scope") or "").split() or q.get("prompt") != "consent":
            return Response("bad scope or prompt", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (request.headers["x-test-login"], time.monotonic() + 300)
        query = urlencode({"authCode": code, "code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", 302)
