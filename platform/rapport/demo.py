"""The demo tenant of ``rapport serve --demo``: training entities and a few records.

The documents and records ship as package data in ``rapport/_data/demo``. The demo metadata is
published only into a tenant that holds nothing but the kernel's (a fresh one), and records are
inserted only while its tables are empty, so restarting with ``--demo`` never touches what
someone changed while trying Rapport out. Records go in through the tenant's GraphQL API, the
same path a client takes.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport.db.tenants import get_tenant
from rapport.errors import RapportError, TenantNotFound
from rapport.graphql.request import GraphQLRequest
from rapport.metadata.documents import Document, read_folder
from rapport.metadata.lifecycle import publish
from rapport.metadata.tenants import create_tenant
from rapport.principal import ADMIN_ROLE, Principal

if TYPE_CHECKING:
    from rapport.graphql.executor import TenantApi
    from rapport.services import Services

__all__ = ["demo_documents", "demo_records", "ensure_demo"]

log = logging.getLogger(__name__)

ACTOR = "rapport-demo"
KERNEL_ONLY_VERSION = 1  # create_tenant publishes the kernel's documents as version 1


def _demo_root() -> Path:
    return Path(str(resources.files("rapport").joinpath("_data", "demo")))


def demo_documents() -> tuple[Document, ...]:
    return read_folder(_demo_root() / "metadata")


def demo_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(
        (_demo_root() / "records.json").read_text(encoding="utf-8")
    )
    return records


async def ensure_demo(services: Services) -> None:
    """Create and fill the demo tenant when it is new; leave an existing one as it is."""
    db = services.db
    slug = services.settings.demo_tenant
    try:
        tenant = await get_tenant(db, slug)
    except TenantNotFound:
        tenant = await create_tenant(db, slug, "Demo company", actor=ACTOR)
        log.info("demo: created tenant %s", slug)
    if tenant.metadata_version == KERNEL_ONLY_VERSION:
        result = await publish(
            db, slug, demo_documents(), actor=ACTOR, note="demo training entities"
        )
        services.runtimes.mark_stale(slug)
        log.info("demo: published metadata version %d", result.version)
    else:
        log.info("demo: tenant %s is at version %d; left as it is", slug, tenant.metadata_version)
    api = await services.runtimes.get(slug)
    principal = Principal(tenant=slug, subject=ACTOR, roles=frozenset({ADMIN_ROLE}))
    await _insert_records(services, api, principal)


async def _insert_records(services: Services, api: TenantApi, principal: Principal) -> None:
    mutations = api.schema.mutation_type
    if mutations is None:
        return
    records = demo_records()
    entities = {e.id: e for e in api.model.entities}
    needed = {r["entity"] for r in records}
    if not needed <= entities.keys():
        log.info("demo: the tenant lacks some demo entities; no records inserted")
        return
    for entity_id in sorted(needed):
        plural = entities[entity_id].plural_name
        data = await _run(services, api, principal, f"{{ {plural} {{ totalCount }} }}", {})
        if data[plural]["totalCount"]:
            log.info("demo: %s already holds records; none inserted", entity_id)
            return
    ids: dict[str, str] = {}
    for record in records:
        type_name = entities[record["entity"]].type_name
        field = f"create{type_name}"
        input_type = mutations.fields[field].args["input"].type
        query = f"mutation Seed($input: {input_type}) {{ {field}(input: $input) {{ id }} }}"
        values = {k: _resolve(v, ids) for k, v in record["input"].items()}
        data = await _run(services, api, principal, query, {"input": values})
        if "ref" in record:
            ids[record["ref"]] = data[field]["id"]
    log.info("demo: inserted %d records", len(records))


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"$ref"}:
        return ids[value["$ref"]]
    return value


async def _run(
    services: Services,
    api: TenantApi,
    principal: Principal,
    query: str,
    variables: dict[str, Any],
) -> dict[str, Any]:
    outcome = await api.execute(
        services.db, GraphQLRequest(query=query, variables=variables), principal
    )
    body = json.loads(outcome.body)
    if body.get("errors"):
        raise RapportError(
            f"Seeding the demo tenant failed: {body['errors'][0].get('message')}",
            hint="Drop the demo tenant's data or set RAPPORT_DEMO_TENANT to a new slug.",
        )
    data: dict[str, Any] = body["data"]
    return data
