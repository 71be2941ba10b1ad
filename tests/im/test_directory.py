"""Directory sync against the local servers: paged, idempotent, a report of every account."""

from __future__ import annotations

import httpx
import pytest

from rapport.crypto.keys import KeyRing
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import NotFound, PlatformError
from rapport.im.directory import sync_directory
from rapport.im.identities import list_identities
from rapport.settings import Settings
from tests.im.dingtalk_server import DingTalkServer
from tests.im.wecom_server import WeComServer

pytestmark = pytest.mark.usefixtures("apps")


async def test_wecom_sync_links_by_employee_number_and_mobile_and_reports_the_rest(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, users: dict[str, str], wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # when the WeCom directory is synced (bob is in two departments)
    report = await sync_directory(database, keyring, http, settings.im, tenant.id, "wecom")
    # then ann is linked by employee number (her userid), bob by mobile (+86 ignored)
    assert report.departments == 2 and report.accounts == 4
    linked = {x["platformUserId"]: (x["userId"], x["rule"]) for x in report.linked}
    assert linked == {"E001": (users["E001"], "employee_number"),
                      "wx-bob": (users["bob@acme.example"], "mobile")}  # fmt: skip
    # and cy (two users share that mobile) and dan (nobody) are reported, not guessed
    reasons = {x["platformUserId"]: x["reason"] for x in report.not_linked}
    assert reasons == {"wx-cy": "ambiguous", "wx-dan": "unmatched"}
    # and the run is kept with its report
    stored = await database.fetchrow("SELECT ok, report FROM rapport.im_sync_runs WHERE id = $1",
                                     report.run_id)  # fmt: skip
    assert stored["ok"] is True and '"alreadyLinked": 0' in stored["report"]
    # when it runs again
    again = await sync_directory(database, keyring, http, settings.im, tenant.id, "wecom")
    # then nothing new is linked and both links are counted as already there
    assert again.linked == () and again.already_linked == 2
    assert len(await list_identities(database, tenant.id, "wecom", linked=True)) == 2


async def test_dingtalk_sync_walks_departments_and_pages(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, users: dict[str, str], dingtalk: tuple[DingTalkServer, str],
) -> None:  # fmt: skip
    # given 150 more members in a sub-sub-department (two pages of 100)
    server = dingtalk[0]
    for i in range(150):
        server.users[f"temp-{i}"] = {"userid": f"temp-{i}", "unionid": f"un-t{i}",
                                     "name": f"T{i}", "job_number": f"T{i}", "dept_id_list": [11]}  # fmt: skip
    # when the directory is synced
    report = await sync_directory(database, keyring, http, settings.im, tenant.id, "dingtalk")
    # then every department (root, HR, HRBP) and every member was read, each once
    assert report.departments == 3 and report.accounts == 153
    linked = {x["platformUserId"]: x["rule"] for x in report.linked}
    assert linked == {"ding-ann": "employee_number", "ding-bob": "mobile"}
    assert len(report.not_linked) == 151
    # when a linked member leaves the organisation and the sync runs again
    del server.users["ding-bob"]
    again = await sync_directory(database, keyring, http, settings.im, tenant.id, "dingtalk")
    # then the report names the departed account
    assert again.departed == ("ding-bob",)


async def test_a_failed_sync_links_nothing_and_keeps_the_error(
    database: Database, tenant: Tenant, keyring: KeyRing, http: httpx.AsyncClient,
    settings: Settings, users: dict[str, str], wecom: tuple[WeComServer, str],
) -> None:  # fmt: skip
    # given WeCom down
    wecom[0].down = True
    # when a sync runs
    with pytest.raises(PlatformError):
        await sync_directory(database, keyring, http, settings.im, tenant.id, "wecom")
    # then no account was recorded and the run says why it failed
    assert await list_identities(database, tenant.id, "wecom") == []
    run = await database.fetchrow(
        "SELECT ok, error FROM rapport.im_sync_runs ORDER BY id DESC LIMIT 1"
    )
    assert run["ok"] is False and "unavailable" in run["error"]
    # when the tenant has no app on that platform
    await database.execute("DELETE FROM rapport.im_apps WHERE platform = 'dingtalk'")
    with pytest.raises(NotFound) as missing:
        await sync_directory(database, keyring, http, settings.im, tenant.id, "dingtalk")
    assert "setImApp" in missing.value.hint
