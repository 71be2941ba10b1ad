"""Database access: the asyncpg pool, the embedded PostgreSQL, the catalog and tenant schemas."""
