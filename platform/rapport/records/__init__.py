"""Writing records: one path for every writer (GraphQL, forms, workflows, imports, plug-ins).

:class:`~rapport.records.writer.RecordWriter` validates and writes through ``rapport.sql``
and lets every :class:`~rapport.records.change.WriteParticipant` (permissions, workflow rules,
audit, outbox…) see each change inside the same transaction.
"""
