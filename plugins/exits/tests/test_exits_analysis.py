"""The analysis of reasons over HTTP: groups and reasons below k are suppressed in SQL, and the
next-smallest with them when exactly one would be hidden (its margin would give it away)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from rapport_exits import plugin as exits_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import ErmTenant, GraphQLFailed, gql, setup_tenant

from rapport.db.database import Database
from rapport.settings import Settings

ANALYSIS = """query($f: String!, $t: String!, $p: ExitPeriod!) { exitReasonAnalysis(from: $f, to: $t, period: $p) {
  minGroupSize suppressedGroups periods { period total }
  groups { departmentName period total regretRate suppressedReasons reasons { reason count } } } }"""
# department -> reasons (count) of separations in the first quarter of 2026
PLAN = {
    "Sales": {"compensation": 6, "career_growth": 5, "management": 1},
    "Ops": {"workload": 6},
    "Legal": {"family": 2},
}


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, exits_plugin], "exan")
    for name, reasons in PLAN.items():
        department = await erm.create("org/department", {"name": name})
        employee = await erm.create(
            "org/employee", {"name": f"{name} staff", "departmentId": department}
        )
        day = 0
        for reason, count in reasons.items():
            for i in range(count):
                day += 1
                await erm.create(
                    "exits/separation",
                    {
                        "employeeId": employee,
                        "type": "mutual_agreement",
                        "reason": reason,
                        "lastWorkingDay": (
                            dt.date(2026, 1, 1) + dt.timedelta(days=day)
                        ).isoformat(),
                        "regrettable": "regret" if i % 2 == 0 else "non_regret",
                    },
                )
    return erm


async def test_small_groups_and_reasons_are_suppressed_with_their_complement(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, "u-hr", "hr")
    # when HR analyses the first quarter by quarter
    found = await gql(
        client, ANALYSIS, {"f": "2026-01-01", "t": "2026-03-31", "p": "QUARTER"}, token=hr
    )
    analysis = found["exitReasonAnalysis"]
    # then Legal (2) is suppressed, and Ops (6) with it: the quarter's total would reveal Legal
    assert analysis["minGroupSize"] == 5 and analysis["suppressedGroups"] == 2
    assert analysis["periods"] == [{"period": "2026-01-01", "total": 20}]
    (sales,) = analysis["groups"]
    assert (sales["departmentName"], sales["total"], sales["period"]) == ("Sales", 12, "2026-01-01")
    # and within Sales, management (1) is suppressed and career growth (5) with it
    assert sales["reasons"] == [{"reason": "compensation", "count": 6}]
    assert sales["suppressedReasons"] == 2
    assert sales["regretRate"] == round(7 / 12, 4)


async def test_by_month_every_group_is_too_small_and_nothing_but_counts_of_hidden_is_shown(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    hr = erm.token(settings, "u-hr", "hr")
    found = await gql(
        client, ANALYSIS, {"f": "2026-01-01", "t": "2026-01-02", "p": "MONTH"}, token=hr
    )
    analysis = found["exitReasonAnalysis"]
    # one separation in each department that day: every group below k, the total too
    assert analysis["groups"] == [] and analysis["suppressedGroups"] == 3
    assert analysis["periods"] == [{"period": "2026-01-01", "total": None}]


async def test_only_hr_analyses_and_dates_are_checked(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    staff = erm.token(settings, "u-staff", "employee")
    with pytest.raises(GraphQLFailed) as failed:
        await gql(
            client, ANALYSIS, {"f": "2026-01-01", "t": "2026-03-31", "p": "YEAR"}, token=staff
        )
    assert failed.value.codes == ["FORBIDDEN"]
    hr = erm.token(settings, "u-hr", "hr")
    with pytest.raises(GraphQLFailed, match="is not a date"):
        await gql(client, ANALYSIS, {"f": "January", "t": "2026-03-31", "p": "YEAR"}, token=hr)
