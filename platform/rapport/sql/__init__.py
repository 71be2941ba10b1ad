"""SQL from the IR: DDL for tenant schemas (``ddl``) and the query compiler."""
