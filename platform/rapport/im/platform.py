"""What Rapport needs of an office-chat platform, and the JSON-over-HTTPS call both share.

:class:`Platform` is the contract :mod:`rapport.im.wecom` and :mod:`rapport.im.dingtalk`
implement. Every method takes the shared ``httpx.AsyncClient``, the base URLs and, where the
platform wants one, an access token. A platform's answer becomes a value, or one of:

- :class:`TokenRejected` — the token is invalid or expired (WeCom/DingTalk errcode 40014 or
  42001): :func:`rapport.im.tokens.with_token` fetches a new one and retries once;
- :class:`rapport.errors.PlatformError` — any other refusal (``details.errcode``) or the
  platform being unreachable (no errcode), with a message that says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from rapport.errors import PlatformError
from rapport.settings import ImSettings

__all__ = [
    "MESSAGE_KINDS",
    "AppCredentials",
    "DirectoryPage",
    "Platform",
    "PlatformUser",
    "SendResult",
    "TokenRejected",
    "call",
    "refusal",
]

MESSAGE_KINDS = ("text", "markdown", "card", "template_card")
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """One tenant's app on one platform, its secret opened (never logged, never returned)."""

    platform: str
    corp_id: str
    app_key: str  # DingTalk AppKey (ClientId); WeCom: ""
    agent_id: int
    secret: str

    @property
    def cache_key(self) -> str:
        """What an access token belongs to: a changed corp, agent or key gets a new token."""
        return self.app_key or f"{self.corp_id}:{self.agent_id}"


@dataclass(frozen=True, slots=True)
class PlatformUser:
    user_id: str  # the platform's account id (WeCom userid, DingTalk userid)
    name: str = ""
    mobile: str = ""
    employee_number: str = ""


@dataclass(frozen=True, slots=True)
class SendResult:
    rejected: tuple[str, ...] = ()  # accounts the platform would not deliver to
    reference: str = ""  # WeCom msgid, DingTalk task_id


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    users: tuple[PlatformUser, ...]
    next_cursor: str | None  # None: the department's last page


class TokenRejected(PlatformError):
    """The access token was refused as invalid or expired."""


class Platform(Protocol):
    name: str
    label: str
    token_errcodes: frozenset[int]

    async def fetch_token(
        self, http: httpx.AsyncClient, urls: ImSettings, app: AppCredentials
    ) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        ...

    def message(self, kind: str, title: str, body: str, link: str | None) -> Mapping[str, Any]: ...

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ImSettings,
        token: str,
        app: AppCredentials,
        user_ids: Sequence[str],
        message: Mapping[str, Any],
    ) -> SendResult: ...

    @property
    def batch_size(self) -> int: ...

    def authorize_url(
        self, urls: ImSettings, app: AppCredentials, redirect_uri: str, state: str
    ) -> str: ...

    async def user_from_code(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, app: AppCredentials, code: str
    ) -> PlatformUser: ...

    async def user_detail(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, user_id: str
    ) -> PlatformUser: ...

    async def departments(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str
    ) -> tuple[int, ...]: ...

    async def department_users(
        self, http: httpx.AsyncClient, urls: ImSettings, token: str, department: int, cursor: str
    ) -> DirectoryPage: ...


async def call(
    http: httpx.AsyncClient,
    platform: Platform,
    method: str,
    url: str,
    *,
    what: str,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One call; the JSON object answered, errcode 0 (or absent) checked.

    ``what`` names the call in errors (``"WeCom message/send"``). The platform's own error
    message is never part of the error: it can echo request data and our caller's IP.
    """
    try:
        response = await http.request(
            method, url, params=params, json=json, headers=headers, timeout=TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"{what}: {platform.label} cannot be reached ({type(exc).__name__}).",
            hint="Check the network path to the platform; the call is retried later.",
            details={"unreachable": True},
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or response.status_code >= 500:
        raise PlatformError(
            f"{what}: {platform.label} is unavailable (HTTP {response.status_code}).",
            hint="The platform may be down or a proxy is in the way; retried later.",
            details={"unreachable": True},
        )
    errcode = answer.get("errcode", 0)
    sub_code = str(answer.get("sub_code", ""))
    if errcode in platform.token_errcodes or (errcode == 88 and sub_code in {"40014", "42001"}):
        raise TokenRejected(f"{what}: the access token was refused.", details={"errcode": errcode})
    if errcode != 0 or response.status_code >= 400:
        raise refusal(platform, what, answer, response.status_code)
    return answer


def refusal(platform: Platform, what: str, answer: Mapping[str, Any], status: int) -> PlatformError:
    errcode = answer.get("errcode")
    code = answer.get("code")  # api.dingtalk.com: {"code": "...", "message": ...}
    meaning = _MEANINGS.get(str(errcode if errcode is not None else code), "")
    label = f"errcode {errcode}" if errcode is not None else f"HTTP {status} {code or ''}".strip()
    return PlatformError(
        f"{what}: {platform.label} refused the call ({label}){': ' + meaning if meaning else ''}.",
        hint=_HINTS.get(str(errcode if errcode is not None else code), _DEFAULT_HINT),
        details={"errcode": errcode if isinstance(errcode, int) else None},
    )


_DEFAULT_HINT = "See the platform's error-code reference for this code; docs/wecom-dingtalk.md."
# The codes an admin can act on, in our words (the platform's errmsg is never shown).
_MEANINGS = {
    "40001": "the secret is wrong",
    "40013": "the corp id is wrong",
    "40056": "the agent id is wrong",
    "40029": "the login code is invalid or used",
    "40078": "the login code is invalid or used",
    "60011": "the app lacks the permission for this API",
    "60020": "the server's IP is not in the app's trusted IPs",
    "60121": "the account is not in the organisation",
    "81013": "none of the recipients may receive the app's messages",
    "invalidClientIdOrSecret": "the AppKey or AppSecret is wrong",
    "invalidAuthCode": "the login code is invalid or used",
}
_HINTS = {
    "40001": "Set the app's secret again (setImApp) from the platform's admin console.",
    "40013": "Set the corp id again (setImApp): it is shown on the platform's admin console.",
    "40056": "Set the agent id of the app again (setImApp).",
    "60011": "Grant the app the API permission in the platform's developer console.",
    "60020": "Add the server's public IP to the app's trusted IPs.",
    "81013": "Add the employees to the app's visible range (可见范围).",
    "invalidClientIdOrSecret": "Set the AppKey and AppSecret again (setImApp).",
}
