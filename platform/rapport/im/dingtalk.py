"""DingTalk (钉钉) server API of an internal app (企业内部应用).

Endpoints (bases ``RAPPORT_DINGTALK_API_BASE`` = https://api.dingtalk.com and
``RAPPORT_DINGTALK_OAPI_BASE`` = https://oapi.dingtalk.com):

- ``POST /v1.0/oauth2/accessToken`` ``{appKey, appSecret}`` → ``accessToken``, ``expireIn``
  (a refused key answers HTTP 400 ``{code, message}``); the token is used as ``access_token``
  on the topapi below
- ``POST /topapi/message/corpconversation/asyncsend_v2`` ``{agent_id, userid_list: "a,b", msg}``
  → ``task_id`` (work notification 工作通知; text, markdown, action_card)
- ``POST /topapi/v2/user/get`` ``{userid}`` → ``result{userid, name, mobile, job_number}``
- ``POST /topapi/user/getbyunionid`` ``{unionid}`` → ``result{userid}``
- ``POST /topapi/v2/department/listsub`` ``{dept_id}`` → ``result[{dept_id, parent_id, name}]``
  (direct children only: walked from the root, 1)
- ``POST /topapi/v2/user/list`` ``{dept_id, cursor, size ≤ 100}`` → ``result{has_more,
  next_cursor, list[…]}``
- H5 login: ``login.dingtalk.com/oauth2/auth?client_id=&redirect_uri=&response_type=code&
  scope=openid corpid&prompt=consent&state=&org_type=management&corpId=`` → ``authCode``;
  ``POST /v1.0/oauth2/userAccessToken`` ``{clientId, clientSecret, code, grantType:
  "authorization_code"}`` → ``accessToken`` (the user's); ``GET /v1.0/contact/users/me``
  (header ``x-acs-dingtalk-access-token``) → ``unionId`` → getbyunionid → user/get

Tokens are refused with errcode 40014 (invalid) or 42001 (expired), sometimes wrapped as
errcode 88 with that ``sub_code``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from rapport.errors import PlatformError
from rapport.im.platform import AppCredentials, DirectoryPage, PlatformUser, SendResult, call
from rapport.im.text import clip, plain_text
from rapport.settings import ImSettings

__all__ = ["DINGTALK", "DingTalk"]

ROOT_DEPARTMENT = 1
PAGE_SIZE = 100


class DingTalk:
    name = "dingtalk"
    label = "DingTalk"
    token_errcodes = frozenset({40014, 42001})
    batch_size = 100  # userid_list: stay within the limit every published version states

    async def fetch_token(
        self, http: httpx.AsyncClient, urls: ImSettings, app: AppCredentials
    ) -> tuple[str, int]:
        answer = await call(
            http,
            self,
            "POST",
            f"{urls.dingtalk_api}/v1.0/oauth2/accessToken",
            what="DingTalk oauth2/accessToken",
            json={"appKey": app.app_key, "appSecret": app.secret},
        )
        return str(answer["accessToken"]), int(answer.get("expireIn", 7200))

    def message(self, kind: str, title: str, body: str, link: str | None) -> Mapping[str, Any]:
        """``kind`` as configured; a card without a link (cards need one) becomes markdown."""
        if kind in ("card", "template_card") and link:
            return {
                "msgtype": "action_card",
                "action_card": {
                    "title": clip(title, 100),
                    "markdown": clip(f"#### {title}\n{body}", 2000),
                    "single_title": "查看详情",
                    "single_url": link,
                },
            }
        if kind == "text":
            text = "\n".join(p for p in (title, plain_text(body), link or "") if p)
            return {"msgtype": "text", "text": {"content": clip(text, 2000)}}
        text = f"#### {title}\n{body}" + (f"\n[查看详情]({link})" if link else "")
        return {
            "msgtype": "markdown",
            "markdown": {"title": clip(title, 100), "text": clip(text, 2000)},
        }

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ImSettings,
        token: str,
        app: AppCredentials,
        user_ids: Sequence[str],
        message: Mapping[str, Any],
    ) -> SendResult:
        answer = await self._topapi(
            http,
            urls,
            token,
            "/topapi/message/corpconversation/asyncsend_v2",
            {"agent_id": app.agent_id, "userid_list": ",".join(user_ids), "msg": dict(message)},
        )
        return SendResult(reference=str(answer.get("task_id", "")))

    def authorize_url(
        self, urls: ImSettings, app: AppCredentials, redirect_uri: str, state: str
    ) -> str:
        query = urlencode(
            {
                "client_id": app.app_key,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "openid corpid",
                "prompt": "consent",
                "state": state,
                "org_type": "management",
                "corpId": app.corp_id,
            }
        )
        return f"{urls.dingtalk_login}/oauth2/auth?{query}"

    async def user_from_code(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, app: AppCredentials, code: str
    ) -> PlatformUser:
        grant = await call(
            http,
            self,
            "POST",
            f"{urls.dingtalk_api}/v1.0/oauth2/userAccessToken",
            what="DingTalk oauth2/userAccessToken",
            json={
                "clientId": app.app_key,
                "clientSecret": app.secret,
                "code": code,
                "grantType": "authorization_code",
            },
        )
        me = await call(
            http,
            self,
            "GET",
            f"{urls.dingtalk_api}/v1.0/contact/users/me",
            what="DingTalk contact/users/me",
            headers={"x-acs-dingtalk-access-token": str(grant.get("accessToken", ""))},
        )
        union_id = me.get("unionId")
        if not union_id:
            raise PlatformError(
                "DingTalk did not say who logged in (no unionId).",
                hint="Grant the app the Contact.User.Read permission (个人权限).",
            )
        found = await self._topapi(
            http, urls, token, "/topapi/user/getbyunionid", {"unionid": str(union_id)}
        )
        user_id = (found.get("result") or {}).get("userid")
        if not user_id:
            raise PlatformError(
                "This DingTalk account is not a member of the organisation.",
                hint="Only members of the corp can log in; add them in the DingTalk admin console.",
            )
        return await self.user_detail(http, urls, token, str(user_id))

    async def user_detail(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, user_id: str
    ) -> PlatformUser:
        answer = await self._topapi(http, urls, token, "/topapi/v2/user/get", {"userid": user_id})
        return _user(answer.get("result") or {})

    async def departments(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str
    ) -> tuple[int, ...]:
        found = [ROOT_DEPARTMENT]
        queue = [ROOT_DEPARTMENT]
        while queue:
            parent = queue.pop(0)
            answer = await self._topapi(
                http, urls, token, "/topapi/v2/department/listsub", {"dept_id": parent}
            )
            for child in answer.get("result") or ():
                dept_id = int(child["dept_id"])
                if dept_id not in found:
                    found.append(dept_id)
                    queue.append(dept_id)
        return tuple(found)

    async def department_users(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, department: int, cursor: str
    ) -> DirectoryPage:
        answer = await self._topapi(
            http,
            urls,
            token,
            "/topapi/v2/user/list",
            {"dept_id": department, "cursor": int(cursor or 0), "size": PAGE_SIZE},
        )
        result = answer.get("result") or {}
        users = tuple(_user(u) for u in result.get("list") or ())
        more = bool(result.get("has_more"))
        return DirectoryPage(users=users, next_cursor=str(result["next_cursor"]) if more else None)

    async def _topapi(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, path: str, body: Any
    ) -> dict[str, Any]:
        return await call(
            http,
            self,
            "POST",
            f"{urls.dingtalk_oapi}{path}",
            what=f"DingTalk {path.removeprefix('/topapi/')}",
            params={"access_token": token},
            json=body,
        )


def _user(raw: Mapping[str, Any]) -> PlatformUser:
    return PlatformUser(
        user_id=str(raw.get("userid") or ""),
        name=str(raw.get("name") or ""),
        mobile=str(raw.get("mobile") or ""),
        employee_number=str(raw.get("job_number") or ""),
    )


DINGTALK = DingTalk()
