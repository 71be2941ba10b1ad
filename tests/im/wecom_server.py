"""A local WeCom (企业微信) server following the published server-API contract.

Implemented as documented: ``gettoken`` (40013 wrong corpid, 40001 wrong secret; the same token
while it is valid), every call checks ``access_token`` (41001 missing, 40014 unknown, 42001
expired), ``message/send`` (agentid 40056; text/markdown/textcard/template_card with their
required fields, 44004 empty content; ``invaliduser`` for accounts outside the app's visible
range, 81013 when nobody may receive; ``enable_duplicate_check`` within the interval shows a
message once), ``auth/getuserinfo`` (codes valid 5 minutes, once: 40029; non-members get an
``openid``), ``user/get`` (60111), ``department/list``, ``user/list`` (60003), and the OAuth page
``/connect/oauth2/authorize`` (redirects with ``code`` and ``state`` for the logged-in person,
named by the test in ``X-Test-Login``). ``down = True`` answers 503 to everything.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CORP_ID = "ww0123456789abcdef"
SECRET = "wecom-app-secret-" + "x" * 26
AGENT_ID = 1000002


@dataclass
class WeComServer:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # userid -> user/get body
    departments: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": 1, "parentid": 0, "name": "总部"}]
    )
    visible: set[str] | None = None  # the app's visible range (None: everyone)
    members_only: set[str] = field(default_factory=set)  # people who are not members (openid)
    token_ttl: int = 7200
    down: bool = False
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    gettoken_calls: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    _recent: dict[str, float] = field(default_factory=dict)

    def expire_tokens(self) -> None:
        """Every issued token expires now (as after 7200 s)."""
        self.tokens = {t: 0.0 for t in self.tokens}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", lambda r: Response("wecom")),
                Route("/cgi-bin/gettoken", self._gettoken),
                Route("/cgi-bin/message/send", self._send, methods=["POST"]),
                Route("/cgi-bin/auth/getuserinfo", self._getuserinfo),
                Route("/cgi-bin/user/get", self._user_get),
                Route("/cgi-bin/department/list", self._department_list),
                Route("/cgi-bin/user/list", self._user_list),
                Route("/connect/oauth2/authorize", self._authorize),
            ]
        )

    # --- helpers -------------------------------------------------------------------------------

    def _fail(self, errcode: int, errmsg: str) -> JSONResponse:
        return JSONResponse({"errcode": errcode, "errmsg": errmsg})

    def _token_error(self, request: Request) -> JSONResponse | None:
        if self.down:
            return JSONResponse({"error": "unavailable"}, 503)
        token = request.query_params.get("access_token")
        if not token:
            return self._fail(41001, "access_token missing")
        expiry = self.tokens.get(token)
        if expiry is None:
            return self._fail(40014, "invalid access_token")
        if expiry <= time.monotonic():
            return self._fail(42001, "access_token expired")
        return None

    # --- endpoints -----------------------------------------------------------------------------

    async def _gettoken(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"error": "unavailable"}, 503)
        self.gettoken_calls += 1
        if request.query_params.get("corpid") != CORP_ID:
            return self._fail(40013, "invalid corpid")
        if request.query_params.get("corpsecret") != SECRET:
            return self._fail(40001, "invalid credential")
        now = time.monotonic()
        valid = [t for t, e in self.tokens.items() if e > now]
        if valid:
            token = valid[0]  # "within validity, the same result"
        else:
            token = secrets.token_urlsafe(32)
            self.tokens[token] = now + self.token_ttl
        remaining = int(self.tokens[token] - now)
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": remaining}
        )

    async def _send(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        if body.get("agentid") != AGENT_ID:
            return self._fail(40056, "invalid agentid")
        kind = body.get("msgtype")
        content = body.get(kind) if isinstance(kind, str) else None
        required = {"text": ["content"], "markdown": ["content"],
                    "textcard": ["title", "description", "url"],
                    "template_card": ["card_type", "main_title", "card_action"]}  # fmt: skip
        if kind not in required or not isinstance(content, dict):
            return self._fail(40008, "invalid message type")
        if any(not content.get(k) for k in required[kind]):
            return self._fail(44004, "empty content")
        if kind in ("text", "markdown") and len(content["content"].encode()) > 2048:
            return self._fail(45002, "content size out of limit")
        if kind == "textcard" and len(content["title"].encode()) > 128:
            return self._fail(45002, "content size out of limit")
        to = [u for u in str(body.get("touser", "")).split("|") if u]
        if len(to) > 1000:
            return self._fail(40031, "invalid user list")
        invalid = [
            u
            for u in to
            if u not in self.users or (self.visible is not None and u not in self.visible)
        ]
        if to and len(invalid) == len(to):
            return self._fail(81013, "user & party & tag all invalid")
        digest = json.dumps(
            {k: v for k, v in body.items() if k != "duplicate_check_interval"}, sort_keys=True
        )
        interval = float(body.get("duplicate_check_interval", 1800))
        seen = self._recent.get(digest)
        if not (body.get("enable_duplicate_check") and seen and time.monotonic() - seen < interval):
            self._recent[digest] = time.monotonic()
            self.messages.append({**body, "delivered": [u for u in to if u not in invalid]})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                             "msgid": secrets.token_hex(8)})  # fmt: skip

    async def _getuserinfo(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        code = request.query_params.get("code", "")
        found = self.codes.pop(code, None)
        if found is None or found[1] < time.monotonic():
            return self._fail(40029, "invalid code")
        person = found[0]
        if person in self.members_only:
            return JSONResponse({"errcode": 0, "errmsg": "ok", "openid": f"o-{person}"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "userid": person, "user_ticket": "t"})

    async def _user_get(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        user = self.users.get(request.query_params.get("userid", ""))
        if user is None:
            return self._fail(60111, "userid not found")
        return JSONResponse({"errcode": 0, "errmsg": "ok", **user})

    async def _department_list(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        return JSONResponse({"errcode": 0, "errmsg": "ok", "department": self.departments})

    async def _user_list(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        try:
            department = int(request.query_params.get("department_id", ""))
        except ValueError:
            return self._fail(60003, "department not found")
        if department not in {d["id"] for d in self.departments}:
            return self._fail(60003, "department not found")
        members = [u for u in self.users.values() if department in u.get("department", [])]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "userlist": members})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("appid") != CORP_ID or q.get("response_type") != "code":
            return Response("bad appid or response_type", 400)
        if q.get("scope") not in ("snsapi_base", "snsapi_privateinfo") or not q.get("redirect_uri"):
            return Response("bad scope or redirect_uri", 400)
        if q.get("agentid") != str(AGENT_ID):
            return Response("bad agentid", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (request.headers["x-test-login"], time.monotonic() + 300)
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(target, 302)
