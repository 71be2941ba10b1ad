"""WeCom (企业微信) server API of a self-built app (企业自建应用).

Endpoints (base ``RAPPORT_WECOM_API_BASE``, default https://qyapi.weixin.qq.com):

- ``GET /cgi-bin/gettoken?corpid=&corpsecret=`` → ``access_token``, ``expires_in`` (7200 s)
- ``POST /cgi-bin/message/send?access_token=`` ``{touser: "a|b", agentid, msgtype, …,
  enable_duplicate_check: 1}`` → ``invaliduser`` (``|``-separated), ``msgid``
- ``GET /cgi-bin/auth/getuserinfo?access_token=&code=`` → ``userid`` (members) or ``openid``
- ``GET /cgi-bin/user/get?access_token=&userid=`` → ``name``, ``mobile`` (when the app may read it)
- ``GET /cgi-bin/department/list?access_token=`` → ``department[{id, parentid, name}]``
- ``GET /cgi-bin/user/list?access_token=&department_id=`` → ``userlist`` (one department)
- OAuth page (base ``RAPPORT_WECOM_OAUTH_BASE``): ``/connect/oauth2/authorize?appid=CORPID&
  redirect_uri=&response_type=code&scope=snsapi_base&state=&agentid=#wechat_redirect``

Tokens are refused with errcode 40014 (invalid) or 42001 (expired). WeCom has no separate
employee-number field in the base API: enterprises set the userid to the employee number, so
the userid is the employee number used for first-login linking.
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

__all__ = ["WECOM", "WeCom"]


class WeCom:
    name = "wecom"
    label = "WeCom"
    token_errcodes = frozenset({40014, 42001, 41001})
    batch_size = 1000  # touser holds at most 1000 accounts

    async def fetch_token(
        self, http: httpx.AsyncClient, urls: ImSettings, app: AppCredentials
    ) -> tuple[str, int]:
        answer = await call(
            http,
            self,
            "GET",
            f"{urls.wecom_api}/cgi-bin/gettoken",
            what="WeCom gettoken",
            params={"corpid": app.corp_id, "corpsecret": app.secret},
        )
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))

    def message(self, kind: str, title: str, body: str, link: str | None) -> Mapping[str, Any]:
        """``kind`` as configured; a card without a link (cards need one) becomes markdown."""
        if kind == "card" and link:
            return {
                "msgtype": "textcard",
                "textcard": {
                    "title": clip(title, 128),
                    "description": clip(plain_text(body), 512),
                    "url": link,
                    "btntxt": "详情",
                },
            }
        if kind == "template_card" and link:
            return {
                "msgtype": "template_card",
                "template_card": {
                    "card_type": "text_notice",
                    "main_title": {"title": clip(title, 104)},
                    "sub_title_text": clip(plain_text(body), 400),
                    "card_action": {"type": 1, "url": link},
                },
            }
        if kind == "text":
            text = "\n".join(p for p in (title, plain_text(body), link or "") if p)
            return {"msgtype": "text", "text": {"content": clip(text, 2048)}}
        content = f"**{title}**\n{body}" + (f"\n[查看详情]({link})" if link else "")
        return {"msgtype": "markdown", "markdown": {"content": clip(content, 2048)}}

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ImSettings,
        token: str,
        app: AppCredentials,
        user_ids: Sequence[str],
        message: Mapping[str, Any],
    ) -> SendResult:
        answer = await call(
            http,
            self,
            "POST",
            f"{urls.wecom_api}/cgi-bin/message/send",
            what="WeCom message/send",
            params={"access_token": token},
            # Duplicate check: a retried job (delivery is at least once) is not shown twice.
            json={
                "touser": "|".join(user_ids),
                "agentid": app.agent_id,
                **message,
                "enable_duplicate_check": 1,
                "duplicate_check_interval": 1800,
            },
        )
        rejected = [u for u in str(answer.get("invaliduser") or "").split("|") if u]
        rejected += [u for u in str(answer.get("unlicenseduser") or "").split("|") if u]
        return SendResult(rejected=tuple(rejected), reference=str(answer.get("msgid", "")))

    def authorize_url(
        self, urls: ImSettings, app: AppCredentials, redirect_uri: str, state: str
    ) -> str:
        query = urlencode(
            {
                "appid": app.corp_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": str(app.agent_id),
            }
        )
        return f"{urls.wecom_oauth}/connect/oauth2/authorize?{query}#wechat_redirect"

    async def user_from_code(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, app: AppCredentials, code: str
    ) -> PlatformUser:
        answer = await call(
            http,
            self,
            "GET",
            f"{urls.wecom_api}/cgi-bin/auth/getuserinfo",
            what="WeCom auth/getuserinfo",
            params={"access_token": token, "code": code},
        )
        user_id = answer.get("userid") or answer.get("UserId")
        if not user_id:
            raise PlatformError(
                "WeCom says this person is not a member of the organisation (no userid).",
                hint="Only members of the corp can log in; add them in the WeCom admin console.",
            )
        return await self.user_detail(http, urls, token, str(user_id))

    async def user_detail(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, user_id: str
    ) -> PlatformUser:
        answer = await call(
            http,
            self,
            "GET",
            f"{urls.wecom_api}/cgi-bin/user/get",
            what="WeCom user/get",
            params={"access_token": token, "userid": user_id},
        )
        return _user(answer)

    async def departments(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str
    ) -> tuple[int, ...]:
        answer = await call(
            http,
            self,
            "GET",
            f"{urls.wecom_api}/cgi-bin/department/list",
            what="WeCom department/list",
            params={"access_token": token},
        )
        return tuple(int(d["id"]) for d in answer.get("department") or ())

    async def department_users(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, department: int, cursor: str
    ) -> DirectoryPage:
        answer = await call(
            http,
            self,
            "GET",
            f"{urls.wecom_api}/cgi-bin/user/list",
            what="WeCom user/list",
            params={"access_token": token, "department_id": str(department)},
        )
        users = tuple(_user(u) for u in answer.get("userlist") or ())
        return DirectoryPage(users=users, next_cursor=None)  # one page per department


def _user(raw: Mapping[str, Any]) -> PlatformUser:
    user_id = str(raw.get("userid") or "")
    return PlatformUser(
        user_id=user_id,
        name=str(raw.get("name") or ""),
        mobile=str(raw.get("mobile") or ""),
        employee_number=user_id,
    )


WECOM = WeCom()
