"""Acceptance over HTTP with a real worker: a question to HR is answered within its SLA or
escalates; threads, reactions, mentions, moderation and anonymous posts follow their rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from rapport_discussions import plugin as discussions_plugin
from rapport_org import plugin as org_plugin
from tests.erm_support import (
    ErmTenant,
    GraphQLFailed,
    gql,
    readable_rows,
    setup_tenant,
    subscribe_transitions,
)
from tests.jobs.support import WorkerProcess, eventually
from tests.notify.receiver import Receiver

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.settings import Settings
from rapport.workflow.sla import sweep_sla

ASKER, HR, COLLEAGUE, MODERATOR = "u-asker-93c1", "u-hr", "u-chen", "u-mod"

TOPIC = """mutation($i: TopicCreateInput!) { createTopic(input: $i) { id status answerDueAt } }"""
REPLY = """mutation($i: ReplyCreateInput!) { createReply(input: $i) { id official } }"""
GET_TOPIC = """query($id: ID!) { topic(id: $id) { status acceptedAnswerId locked
  replies { edges { node { id body official } } } } }"""
ACCEPT = """mutation($r: ID!) { acceptDiscussionAnswer(replyId: $r) }"""
MODERATE = (
    """mutation($id: ID!, $a: DiscussionModeration!) { moderateDiscussion(id: $id, action: $a) }"""
)
REACT = """mutation($id: ID!) { reactToDiscussion(id: $id, kind: "thanks") }"""
REPORT = """mutation($id: ID!) { reportDiscussionAbuse(id: $id, reason: "spam") }"""
ANON_TOPIC = (
    """mutation($i: AnonymousTopicInput!) { postAnonymousTopic(input: $i) { followUpCode } }"""
)
ANON_REPLY = """mutation($i: AnonymousReplyInput!) { replyAnonymously(input: $i) }"""
ACCEPT_CODE = (
    """mutation($r: ID!, $c: String!) { acceptAnonymousTopicAnswer(replyId: $r, code: $c) }"""
)


@pytest.fixture(scope="module")
async def erm(database: Database) -> ErmTenant:
    erm = await setup_tenant(database, [org_plugin, discussions_plugin], "dis")
    for name, user, number in [
        ("王芳", ASKER, "E-1"),
        ("Li HR", HR, "E-2"),
        ("Chen", COLLEAGUE, "E-9"),
    ]:
        await erm.create("org/employee", {"name": name, "userId": user, "externalId": number})
    benefits = await erm.create(
        "discussions/board", {"name": "Benefits", "allowAnonymous": True, "answerDays": 2}
    )
    await erm.create("discussions/board", {"name": "Culture"})
    await erm.create("discussions/board_moderator", {"boardId": benefits, "userId": MODERATOR})
    return erm


async def _board(erm: ErmTenant, name: str) -> str:
    found: str = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".discussions_board WHERE name = $1', name
    )
    return found


async def _inbox(erm: ErmTenant, link: str) -> list[str]:
    rows = await erm.db.fetch(
        f'SELECT recipient FROM "tenant_{erm.slug}".core_notification WHERE link = $1 ORDER BY 1',
        link,
    )
    return [r["recipient"] for r in rows]


async def test_a_question_to_hr_is_answered_within_the_sla_or_escalates(
    erm: ErmTenant,
    settings: Settings,
    client: httpx.AsyncClient,
    database_url: str,
    tmp_path: Path,
    clean_redis: str,
) -> None:
    asker, hr = erm.token(settings, ASKER, "employee"), erm.token(settings, HR, "hr", "employee")
    board = await _board(erm, "Benefits")
    question = {"boardId": board, "kind": "question", "addressedTo": "hr"}
    with Receiver() as hooks, WorkerProcess(database_url, tmp_path, redis_url=clean_redis):
        await subscribe_transitions(erm, hooks.url + "/hook")
        # given two questions to HR, one mentioning a colleague; each has an answer deadline
        answered = (await gql(client, TOPIC, {"i": {**question, "title": "Dental?",
                    "body": "Is dental covered? @E-9 asked too."}}, token=asker))["createTopic"]  # fmt: skip
        ignored = (await gql(client, TOPIC, {"i": {**question, "title": "Gym?",
                   "body": "Is there a gym subsidy?"}}, token=asker))["createTopic"]  # fmt: skip
        assert answered["status"] == "open" and answered["answerDueAt"]
        assert await _inbox(erm, f"discussions/{answered['id']}") == [COLLEAGUE]

        # when HR answers the first one
        reply = await gql(
            client, REPLY, {"i": {"topicId": answered["id"], "body": "Yes, up to 2000 CNY."}},
            token=hr,
        )  # fmt: skip

        # then the answer is marked official, the question is answered and the asker told
        assert reply["createReply"]["official"] == "hr"
        topic = (await gql(client, GET_TOPIC, {"id": answered["id"]}, token=asker))["topic"]
        assert topic["status"] == "answered"
        assert await _inbox(erm, f"discussions/{answered['id']}") == sorted([COLLEAGUE, ASKER])
        # and the worker delivered the transition to the webhook
        await eventually(lambda: _count(hooks.received, 1), timeout=30)
        assert hooks.received[0].json()["data"]["transition"] == "answer"

    # when the deadline passes (the worker's SLA sweep, days later)
    await sweep_sla(
        erm.db, dt.datetime.now(dt.UTC) + dt.timedelta(days=10), participants=KERNEL.participants
    )

    # then only the unanswered question escalated to HR management
    assert await _inbox(erm, f"topic/{ignored['id']}") == ["role:hr_manager"]
    title = await erm.db.fetchval(
        f'SELECT title FROM "tenant_{erm.slug}".core_notification WHERE link = $1',
        f"topic/{ignored['id']}",
    )
    assert title == "员工提给HR的问题已超过答复时限 / A question to HR is past its answer deadline"
    assert await _inbox(erm, f"topic/{answered['id']}") == []

    # and the asker accepts the answer
    await gql(client, ACCEPT, {"r": reply["createReply"]["id"]}, token=asker)
    topic = (await gql(client, GET_TOPIC, {"id": answered["id"]}, token=asker))["topic"]
    assert topic["acceptedAnswerId"] == reply["createReply"]["id"]


async def test_threads_reactions_and_moderation(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    asker, colleague = (erm.token(settings, u, "employee") for u in (ASKER, COLLEAGUE))
    moderator = erm.token(settings, MODERATOR, "employee")
    board = await _board(erm, "Benefits")
    topic = (await gql(client, TOPIC, {"i": {"boardId": board, "title": "Lunch",
             "body": "Canteen ideas"}}, token=asker))["createTopic"]["id"]  # fmt: skip
    first = (await gql(client, REPLY, {"i": {"topicId": topic, "body": "Noodles"}},
             token=colleague))["createReply"]["id"]  # fmt: skip
    second = (await gql(client, REPLY, {"i": {"topicId": topic, "parentId": first, "body": "+1"}},
              token=asker))["createReply"]  # fmt: skip
    assert second["official"] == "none"

    # a reply to a reply of a reply is refused: threads are one level deep
    with pytest.raises(GraphQLFailed, match="threads are one level deep"):
        await gql(client, REPLY, {"i": {"topicId": topic, "parentId": second["id"], "body": "x"}},
                  token=colleague)  # fmt: skip
    # one reaction of a kind per person
    await gql(client, REACT, {"id": first}, token=asker)
    with pytest.raises(GraphQLFailed):
        await gql(client, REACT, {"id": first}, token=asker)
    (reaction,) = await erm.db.fetch(f'SELECT * FROM "tenant_{erm.slug}".discussions_reaction')
    assert reaction["created_by"] == "anonymous" and ASKER not in str(dict(reaction))
    # only moderators moderate; a hidden reply disappears, a locked topic takes no reply
    with pytest.raises(GraphQLFailed, match="moderators"):
        await gql(client, MODERATE, {"id": first, "a": "HIDE"}, token=colleague)
    await gql(client, REPORT, {"id": first}, token=asker)
    assert await _inbox(erm, f"discussions/{first}") == [MODERATOR]
    await gql(client, MODERATE, {"id": first, "a": "HIDE"}, token=moderator)
    seen = (await gql(client, GET_TOPIC, {"id": topic}, token=asker))["topic"]
    assert [e["node"]["body"] for e in seen["replies"]["edges"]] == ["+1"]
    await gql(client, MODERATE, {"id": topic, "a": "LOCK"}, token=moderator)
    with pytest.raises(GraphQLFailed, match="the topic is locked"):
        await gql(client, REPLY, {"i": {"topicId": topic, "body": "late"}}, token=colleague)


async def test_anonymous_posts_leave_no_link_to_their_author(
    erm: ErmTenant, settings: Settings, client: httpx.AsyncClient
) -> None:
    asker, hr = erm.token(settings, ASKER, "employee"), erm.token(settings, HR, "hr", "employee")
    benefits, culture = await _board(erm, "Benefits"), await _board(erm, "Culture")
    # a board without anonymous posting refuses them
    with pytest.raises(GraphQLFailed, match="does not allow anonymous posts"):
        await gql(client, ANON_TOPIC, {"i": {"boardId": culture, "title": "t", "body": "b"}},
                  token=asker)  # fmt: skip
    # given an anonymous question to HR, and an anonymous reply, by a signed-in employee
    code = (await gql(client, ANON_TOPIC, {"i": {"boardId": benefits, "title": "Pay gap?",
            "body": "Is there one?", "kind": "question", "addressedTo": "hr"}},
            token=asker))["postAnonymousTopic"]["followUpCode"]  # fmt: skip
    topic_id = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".discussions_topic WHERE title = $1', "Pay gap?"
    )
    await gql(client, ANON_REPLY, {"i": {"topicId": topic_id, "body": "Me too"}}, token=asker)
    answer = (await gql(client, REPLY, {"i": {"topicId": topic_id, "body": "We audit yearly."}},
              token=hr))["createReply"]["id"]  # fmt: skip
    # when the author accepts the answer with the code
    await gql(client, ACCEPT_CODE, {"r": answer, "c": code}, token=asker)

    # then no readable row names the author's user, employee or code (but their own rows and
    # the named posts of the earlier tests)
    asker_id = await erm.db.fetchval(
        f'SELECT id::text FROM "tenant_{erm.slug}".org_employee WHERE user_id = $1', ASKER
    )
    anonymous_rows = await erm.db.fetch(
        f'SELECT id::text FROM "tenant_{erm.slug}".discussions_reply WHERE anonymous'
    )
    anonymous_ids = {topic_id, *(r["id"] for r in anonymous_rows)}
    for table, text in await readable_rows(erm.db, erm.slug, erm.tenant_id):
        if not any(i in text for i in anonymous_ids):
            continue
        assert code not in text, table
        assert ASKER not in text, table
        assert asker_id not in text, table
    stored = await erm.db.fetchrow(
        f"SELECT created_by, author_id, created_at, accepted_answer_id::text AS accepted "
        f'FROM "tenant_{erm.slug}".discussions_topic WHERE id = $1::uuid',
        topic_id,
    )
    assert stored is not None
    assert (stored["created_by"], stored["author_id"], stored["accepted"]) == (
        "anonymous",
        None,
        answer,
    )
    assert (stored["created_at"].hour, stored["created_at"].minute) == (0, 0)


async def _count(received: list[object], n: int) -> bool:
    return len(received) >= n
