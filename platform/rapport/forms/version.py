"""A form's version: the tenant metadata version since which the form has not changed.

A form is built from its form document (if any) and its entity's document. Its version is the
first metadata version of the latest unbroken run of versions in which those documents are
exactly as now — so publishing other documents leaves it alone, while editing the form or its
entity (or rolling back) gives it a new version. It is an integer clients echo as
``formVersion`` and that submissions store. Computed in one SQL statement from the stored
versions (``rapport.metadata_versions``); a tenant with no stored version (a test runtime) has
version 1.
"""

from __future__ import annotations

from rapport.db.tenants import Queryable, Tenant
from rapport.forms.document import Form

__all__ = ["form_version"]

_SQL = """
WITH history AS (
    SELECT v.version,
           (SELECT coalesce(jsonb_agg(d ORDER BY d::text), '[]'::jsonb)
              FROM jsonb_array_elements(v.documents::jsonb) AS d
             WHERE (coalesce(d->>'kind', 'entity') = 'form' AND d->'body'->>'$id' = $2)
                OR (coalesce(d->>'kind', 'entity') = 'entity' AND d->'body'->>'$id' = $3)
           ) AS relevant
      FROM rapport.metadata_versions AS v
     WHERE v.tenant_id = $1 AND v.version <= $4
)
SELECT min(h.version)
  FROM history AS h
 WHERE h.version > coalesce(
        (SELECT max(o.version) FROM history AS o
          WHERE o.relevant IS DISTINCT FROM (SELECT c.relevant FROM history AS c
                                              WHERE c.version = $4)),
        0)
"""


async def form_version(db: Queryable, tenant: Tenant, form: Form) -> int:
    entity = None if form.standalone else form.entity.id
    found = await db.fetchval(_SQL, tenant.id, form.id, entity, tenant.metadata_version)
    return max(int(found), 1) if found is not None else 1
