"""A text fingerprint of a PostgreSQL schema, for tests that compare schemas.

Tables, columns (type, nullability, default), constraints and indexes, read from pg_catalog,
one sorted line each. The schema's own name is replaced by ``<schema>`` so the schemas of two
tenants built from the same documents have equal fingerprints.
"""

from __future__ import annotations

from rapport.db.tenants import Queryable

__all__ = ["schema_fingerprint"]

_COLUMNS = """
SELECT c.relname AS table_name, a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr
  FROM pg_attribute AS a
  JOIN pg_class AS c ON c.oid = a.attrelid
  JOIN pg_namespace AS n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""

_CONSTRAINTS = """
SELECT c.relname AS table_name, con.conname AS name, pg_get_constraintdef(con.oid) AS definition
  FROM pg_constraint AS con
  JOIN pg_class AS c ON c.oid = con.conrelid
  JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = $1
"""

_INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1"

_TABLES = """
SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind = 'r'
"""


async def schema_fingerprint(db: Queryable, schema: str) -> str:
    lines: list[str] = []
    for row in await db.fetch(_TABLES, schema):
        lines.append(f"table {row['relname']}")
    for row in await db.fetch(_COLUMNS, schema):
        null = "NOT NULL" if row["not_null"] else "NULL"
        default = f" DEFAULT {row['default_expr']}" if row["default_expr"] is not None else ""
        lines.append(
            f"column {row['table_name']}.{row['column_name']} {row['type']} {null}{default}"
        )
    for row in await db.fetch(_CONSTRAINTS, schema):
        lines.append(f"constraint {row['table_name']}.{row['name']} {row['definition']}")
    for row in await db.fetch(_INDEXES, schema):
        lines.append(f"index {row['tablename']}.{row['indexname']} {row['indexdef']}")
    text = "\n".join(sorted(lines))
    return text.replace(f'"{schema}".', "<schema>.").replace(f"{schema}.", "<schema>.")
