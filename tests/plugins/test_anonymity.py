"""rapport.plugins.anonymity: codes, their hashes, refused fields and per-tenant pseudonyms."""

from __future__ import annotations

import re

import pytest

from rapport.composition import KERNEL
from rapport.crypto.sealing import KeyRingSealers
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.errors import ValidationFailed
from rapport.metadata.lifecycle import load_published
from rapport.metadata.tenants import create_tenant
from rapport.plugins.anonymity import (
    ANONYMOUS,
    anonymous_principal,
    hash_code,
    new_follow_up_code,
    pseudonym,
    refuse_fields,
)
from rapport.records.writer import RecordWriter


def test_a_code_is_32_base32_characters_and_never_repeats() -> None:
    codes = {new_follow_up_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[A-Z2-7]{32}", c) for c in codes)


def test_the_hash_ignores_case_and_surrounding_blanks() -> None:
    code = new_follow_up_code()
    assert hash_code(f"  {code.lower()}\n") == hash_code(code)
    assert re.fullmatch(r"[0-9a-f]{64}", hash_code(code))
    assert hash_code(code) != hash_code(new_follow_up_code())


def test_fields_beyond_the_allowed_ones_are_refused_by_name() -> None:
    refuse_fields({"title": "t"}, ("title", "body"), "an anonymous thing")
    with pytest.raises(ValidationFailed) as refused:
        refuse_fields({"title": "t", "userId": "u-1"}, ("title", "body"), "an anonymous thing")
    assert [e.path for e in refused.value.errors] == [("input", "userId")]
    assert refused.value.hint == "Send only title, body."


def test_the_anonymous_principal_has_only_the_anonymous_role() -> None:
    principal = anonymous_principal("acme")
    assert (principal.subject, principal.roles) == (ANONYMOUS, frozenset({ANONYMOUS}))


async def test_a_pseudonym_is_stable_per_scope_and_differs_between_tenants(
    database: Database,
) -> None:
    # given two tenants
    await migrate(database)
    writers = []
    for slug in ("pseudo_a", "pseudo_b"):
        await create_tenant(database, slug, actor="test")
        tenant, metadata = await load_published(database, slug)
        writers.append(
            RecordWriter(
                tenant, metadata, participants=KERNEL.participants, sealers=KeyRingSealers()
            )
        )
    first, second = writers
    async with database.acquire() as conn:
        # when the same person is hashed in two scopes and two tenants
        again = await pseudonym(conn, first, "vote:1", "u-1")
        same = await pseudonym(conn, first, "vote:1", "u-1")
        other_scope = await pseudonym(conn, first, "vote:2", "u-1")
        other_tenant = await pseudonym(conn, second, "vote:1", "u-1")
    # then only the same scope in the same tenant gives the same value
    assert again == same
    assert len({again, other_scope, other_tenant}) == 3
    assert "u-1" not in again
