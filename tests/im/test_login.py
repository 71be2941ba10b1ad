"""H5 login over real HTTP: Rapport's endpoints, the platforms' OAuth pages, first-login linking."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.settings import Settings
from tests.im.dingtalk_server import DingTalkServer
from tests.im.wecom_server import WeComServer
from tests.live_server import LiveServer

pytestmark = pytest.mark.usefixtures("apps")
H5 = "https://h5.acme.example/login"
MINE = "{ myChannelPreferences { channels followsDefault available } }"


@pytest.fixture
def live(settings: Settings, tenant: Tenant) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


def _start(browser: httpx.Client, platform: str, redirect: str = H5) -> httpx.Response:
    return browser.post(
        f"/auth/im/{platform}/authorize", json={"tenant": "acme", "redirectUri": redirect}
    )


def _consent(authorize_url: str, person: str) -> dict[str, str]:
    """The platform's login page, with ``person`` signed in to it: where it sends the browser."""
    page = httpx.get(authorize_url, headers={"X-Test-Login": person})
    assert page.status_code == 302, page.text
    location = page.headers["location"]
    assert location.startswith(H5 + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _login(browser: httpx.Client, platform: str, person: str) -> httpx.Response:
    started = _start(browser, platform)
    assert started.status_code == 200, started.text
    back = _consent(started.json()["authorizeUrl"], person)
    code = {"code": back["code"]} if platform == "wecom" else {"authCode": back["authCode"]}
    return browser.post(
        f"/auth/im/{platform}/login", json={"tenant": "acme", "state": back["state"], **code}
    )


async def test_first_wecom_login_links_by_employee_number_and_issues_a_session(
    live: LiveServer, database: Database, users: dict[str, str], wecom: tuple[WeComServer, str]
) -> None:
    # when ann, never linked, logs in from WeCom (her userid is her employee number)
    with httpx.Client(base_url=live.url) as browser:
        answer = _login(browser, "wecom", "E001")
    # then she gets the /auth/login answer, as herself
    assert answer.status_code == 200, answer.text
    session = answer.json()
    assert session["userId"] == users["E001"] and session["tokenType"] == "Bearer"
    assert session["refreshToken"].startswith("rt_")
    # and the access token works on the tenant API
    me = httpx.post(live.url + "/graphql", json={"query": MINE},
                    headers={"Authorization": f"Bearer {session['accessToken']}"})  # fmt: skip
    assert me.json()["data"]["myChannelPreferences"]["followsDefault"] is True
    # and the refresh token works on /auth/refresh
    refreshed = httpx.post(
        live.url + "/auth/refresh", json={"refreshToken": session["refreshToken"]}
    )
    assert refreshed.status_code == 200
    # and the account is now linked, the login audited with how it was linked
    link = await database.fetchrow(
        "SELECT user_id::text AS user_id, linked_by FROM rapport.im_identities "
        "WHERE platform = 'wecom' AND platform_user_id = 'E001'"
    )
    assert dict(link) == {"user_id": users["E001"], "linked_by": "employee_number"}
    audited = await database.fetchval(
        "SELECT data::text FROM rapport.audit_entries WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1"
    )
    assert '"via": "wecom"' in audited and "employee_number" in audited


async def test_dingtalk_login_by_mobile_and_a_second_login_uses_the_link(
    live: LiveServer,
    database: Database,
    users: dict[str, str],
    dingtalk: tuple[DingTalkServer, str],
) -> None:
    # when bob logs in twice from DingTalk (matched by his mobile the first time)
    with httpx.Client(base_url=live.url) as browser:
        first = _login(browser, "dingtalk", "ding-bob")
        second = _login(browser, "dingtalk", "ding-bob")
    # then both sessions are his
    assert first.status_code == 200, first.text
    assert first.json()["userId"] == second.json()["userId"] == users["bob@acme.example"]


async def test_an_account_matching_nobody_is_refused_and_audited(
    live: LiveServer, database: Database, users: dict[str, str], wecom: tuple[WeComServer, str]
) -> None:
    # when dan (no Rapport user has his number or mobile) and a non-member try to log in
    wecom[0].members_only.add("wx-outsider")
    with httpx.Client(base_url=live.url) as browser:
        dan = _login(browser, "wecom", "wx-dan")
        outsider = _login(browser, "wecom", "wx-outsider")
    # then both are refused with a reason that says what to do
    assert dan.status_code == 401
    error = dan.json()["errors"][0]
    assert error["extensions"]["code"] == "LOGIN_FAILED"
    assert "no Rapport user matches" in error["message"] and "HR" in error["extensions"]["hint"]
    assert outsider.status_code == 401 and "not a member" in outsider.json()["errors"][0]["message"]
    # and no session was started, the refusal is audited
    audited = await database.fetchval(
        "SELECT data::text FROM rapport.audit_entries WHERE action = 'auth.login_failed' "
        "ORDER BY seq DESC LIMIT 1"
    )
    assert '"reason": "unmatched"' in audited and "wx-dan" in audited


async def test_state_is_bound_to_the_browser_and_spent_once(
    live: LiveServer, users: dict[str, str], wecom: tuple[WeComServer, str]
) -> None:
    with httpx.Client(base_url=live.url) as victim, httpx.Client(base_url=live.url) as attacker:
        # given an attacker who started a login and got a code for their own account
        started = _start(attacker, "wecom")
        back = _consent(started.json()["authorizeUrl"], "E001")
        body = {"tenant": "acme", "state": back["state"], "code": back["code"]}
        # when the victim's browser is made to post it (no cookie of that state)
        forged = victim.post("/auth/im/wecom/login", json=body)
        # then it is refused, and the state is spent: the attacker cannot use it either
        assert forged.status_code == 401
        assert "another browser" in forged.json()["errors"][0]["message"]
        replay = attacker.post("/auth/im/wecom/login", json=body)
        assert (
            replay.status_code == 401 and "used or expired" in replay.json()["errors"][0]["message"]
        )
        # when a login is started for a redirect the app does not list
        stray = _start(attacker, "wecom", "https://evil.example/steal")
        # then it is refused and says where to register it
        assert stray.status_code == 400
        assert "redirectUris" in stray.json()["errors"][0]["extensions"]["hint"]
        # when the code is wrong
        started = _start(attacker, "wecom")
        state = _consent(started.json()["authorizeUrl"], "E001")["state"]
        wrong = attacker.post(
            "/auth/im/wecom/login", json={"tenant": "acme", "state": state, "code": "x"}
        )
        assert (
            wrong.status_code == 401
            and "login code is invalid" in wrong.json()["errors"][0]["message"]
        )


async def test_requests_that_are_not_json_or_lack_fields_are_refused(live: LiveServer) -> None:
    # when the login is posted as a form, or without a state
    form = httpx.post(live.url + "/auth/im/wecom/login", data={"tenant": "acme"})
    missing: Any = httpx.post(
        live.url + "/auth/im/wecom/login", json={"tenant": "acme", "code": "c"}
    )
    unknown = httpx.post(
        live.url + "/auth/im/feishu/authorize", json={"tenant": "acme", "redirectUri": H5}
    )
    # then each says what is wrong
    assert form.status_code == 415
    assert (
        missing.status_code == 400
        and missing.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    )
    assert (
        unknown.status_code == 400 and "wecom" in unknown.json()["errors"][0]["extensions"]["hint"]
    )


async def test_accounts_password_login_would_refuse_are_refused_here_too(
    live: LiveServer, database: Database, tenant: Tenant, users: dict[str, str],
    wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    ann = users["E001"]
    try:
        # given ann is locked after failed password logins
        await database.execute(
            "UPDATE rapport.users SET locked_until = now() + interval '1 hour' WHERE id = $1",
            ann,
        )
        with httpx.Client(base_url=live.url) as browser:
            locked = _login(browser, "wecom", "E001")
        # then the platform login does not get around the lockout
        assert locked.status_code == 401 and "locked" in locked.json()["errors"][0]["message"]

        # given she is unlocked but enrolled a TOTP secret
        await database.execute(
            "UPDATE rapport.users SET locked_until = NULL, totp_enabled = true WHERE id = $1", ann
        )
        with httpx.Client(base_url=live.url) as browser:
            enrolled = _login(browser, "wecom", "E001")
        # then she is sent to /auth/login, where the code is asked for
        assert enrolled.status_code == 401, enrolled.text
        error = enrolled.json()["errors"][0]
        assert error["extensions"]["code"] == "TOTP_REQUIRED"
        assert "/auth/login" in error["extensions"]["hint"]

        # given she holds an admin duty in a tenant that requires a second factor of admins
        await database.execute(
            "UPDATE rapport.users SET totp_enabled = false, roles = '{security_admin}' "
            "WHERE id = $1",
            ann,
        )
        await database.execute(
            "INSERT INTO rapport.tenant_security (tenant_id, totp_required_for_admins) "
            "VALUES ($1::uuid, true) ON CONFLICT (tenant_id) DO UPDATE SET "
            "totp_required_for_admins = true",
            tenant.id,
        )
        with httpx.Client(base_url=live.url) as browser:
            duty = _login(browser, "wecom", "E001")
        # then the same rule applies
        assert duty.json()["errors"][0]["extensions"]["code"] == "TOTP_REQUIRED"
        refusals = await database.fetch(
            "SELECT data->>'reason' AS reason FROM rapport.audit_entries "
            "WHERE action = 'auth.login_failed' AND record_id = $1 ORDER BY seq DESC LIMIT 3",
            ann,
        )
        assert [r["reason"] for r in refusals] == ["second factor", "second factor", "locked"]
    finally:
        await database.execute(
            "UPDATE rapport.users SET locked_until = NULL, totp_enabled = false, "
            "roles = '{employee}' WHERE id = $1",
            ann,
        )
        await database.execute(
            "DELETE FROM rapport.tenant_security WHERE tenant_id = $1::uuid", tenant.id
        )


async def test_h5_login_is_throttled_per_client_address_like_password_login(
    settings: Settings, tenant: Tenant, wecom: tuple[WeComServer, str]
) -> None:
    # given a server that allows a burst of 3 login attempts per address
    identity = replace(
        settings.identity, login_rate_address_burst=3, login_rate_address_per_minute=1
    )
    with (
        LiveServer(replace(settings, identity=identity)) as live,
        httpx.Client(base_url=live.url) as browser,
    ):
        # when one address keeps starting logins
        answers = [_start(browser, "wecom") for _ in range(4)]
    # then the fourth is refused with when to retry
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(answers[3].headers["retry-after"]) > 0
