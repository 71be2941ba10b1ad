"""Capabilities add root fields with Python resolvers; they run with a RequestContext."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from graphql import GraphQLArgument, GraphQLField, GraphQLNonNull, GraphQLString

from rapport.composition import KERNEL
from rapport.db.database import Database
from rapport.db.tenants import Tenant
from rapport.errors import MetadataInvalid
from rapport.graphql.contributions import Contribution, RequestContext
from rapport.graphql.executor import TenantApi
from rapport.graphql.request import GraphQLRequest
from rapport.graphql.schema_builder import build_schema
from rapport.graphql.types.context import BuildContext
from rapport.metadata.builder import compile_model
from rapport.metadata.bundle import TenantMetadata
from rapport.metadata.documents import read_folder
from rapport.principal import Principal

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata"
TENANT = Tenant(
    id=str(uuid.uuid4()),
    slug="contrib",
    name="Contributions",
    schema="tenant_contrib",
    metadata_version=1,
    created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
)
ALICE = Principal(tenant="contrib", subject="alice", roles=frozenset({"admin"}))


async def _whoami(_root: object, info: object) -> str:
    context = info.context  # type: ignore[attr-defined]
    assert isinstance(context, RequestContext)
    database_says = await context.db.fetchval("SELECT 'db ok'")
    return f"{context.principal.subject} in {context.api.tenant.slug} ({database_says})"


def _echo(_root: object, _info: object, text: str) -> str:
    return text.upper()


def contribute(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
    assert metadata.model.has_entity("training/course")
    return Contribution(
        query={"whoami": GraphQLField(GraphQLNonNull(GraphQLString), resolve=_whoami)},
        mutation={
            "shout": GraphQLField(
                GraphQLString,
                args={"text": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                resolve=_echo,
            )
        },
    )


@pytest.fixture(scope="module")
def api() -> TenantApi:
    metadata = TenantMetadata.of(compile_model(read_folder(FIXTURES)))
    return TenantApi(
        TENANT,
        metadata,
        build_schema(metadata, version=1, contributors=[contribute]),
        participants=KERNEL.participants,
    )


async def test_contributed_fields_run_with_the_request_context(
    api: TenantApi, database: Database
) -> None:
    outcome = await api.execute(database, GraphQLRequest("{ metadataVersion whoami }"), ALICE)
    assert json.loads(outcome.body) == {
        "data": {"metadataVersion": 1, "whoami": "alice in contrib (db ok)"}
    }
    outcome = await api.execute(database, GraphQLRequest('mutation { shout(text: "hi") }'), ALICE)
    assert json.loads(outcome.body) == {"data": {"shout": "HI"}}


def test_a_contributed_name_may_not_shadow_an_entity_field() -> None:
    metadata = TenantMetadata.of(compile_model(read_folder(FIXTURES)))

    def clash(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
        return Contribution(query={"courses": GraphQLField(GraphQLString)})

    with pytest.raises(MetadataInvalid, match="root field courses is reserved"):
        build_schema(metadata, contributors=[clash])


async def test_resolver_errors_keep_their_code_or_are_masked(database: Database) -> None:
    from rapport.errors import VersionConflict

    async def conflict(_root: object, _info: object) -> str:
        raise VersionConflict("The record changed.", hint="Reload it.")

    async def crash(_root: object, _info: object) -> str:
        raise RuntimeError('relation "tenant_x.secret" does not exist')

    def contribute_failures(ctx: BuildContext, metadata: TenantMetadata) -> Contribution:
        return Contribution(
            query={
                "conflict": GraphQLField(GraphQLString, resolve=conflict),
                "crash": GraphQLField(GraphQLString, resolve=crash),
            }
        )

    metadata = TenantMetadata.of(compile_model(read_folder(FIXTURES)))
    schema = build_schema(metadata, version=1, contributors=[contribute_failures])
    api = TenantApi(TENANT, metadata, schema, participants=KERNEL.participants)
    outcome = await api.execute(database, GraphQLRequest("{ conflict crash }"), ALICE)
    body = json.loads(outcome.body)
    assert body["data"] == {"conflict": None, "crash": None}
    by_path = {e["path"][0]: e for e in body["errors"]}
    assert by_path["conflict"]["message"] == "The record changed."
    assert by_path["conflict"]["extensions"] == {"code": "VERSION_CONFLICT", "hint": "Reload it."}
    assert by_path["crash"]["message"] == "Internal server error."
    assert by_path["crash"]["extensions"] == {"code": "INTERNAL"}
    assert "secret" not in outcome.body.decode()
