"""Verifying the audit logs: recompute every hash, walk each chain, check signed checkpoints.

Every log is checked on its own (a tenant's, or the operator log): its entries in the order of
their numbers, its head row and its own checkpoints. The hash chain names the FIRST bad entry of
a log cheaply (one pass, in number order); the signed checkpoints catch what a chain alone
cannot — somebody who rewrites entries and every hash after them, or who truncates the tail and
the head row together.
Kinds of damage:

- ``edited``: the stored columns no longer hash to the entry's leaf hash, or the entry was
  rewritten together with its hash (the next entry links to a different hash);
- ``deleted``: a sequence number is missing (also at the tail: the head or a checkpoint counts
  more entries than are stored);
- ``inserted``: an entry the log never appended (the next entry links past it, or it lies
  beyond the head);
- ``reordered``: the entry is intact but stored at another sequence number than it was
  written with (e.g. two entries swapped);
- ``checkpoint``: a checkpoint's signature is forged, or its root does not match the entries;
- ``legacy``: the log still has the catalog-wide chain's hashes (rapport.audit.rechain has not
  run since migration 0011).

An entry moved to another tenant's log shows as ``edited`` there (its hash covers the tenant)
and as ``deleted`` in the log it left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from asyncpg import Record

from rapport.audit.canonical import Entry, stored_entry
from rapport.audit.checkpoints import CheckpointSigner, load_checkpoints
from rapport.audit.logs import LogId, log_label, log_where
from rapport.audit.merkle import root
from rapport.db.database import Connection

__all__ = ["Problem", "Report", "verify_log"]

_ZERO = bytes(32)


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int  # the entry's number in its log
    kind: str  # edited | deleted | inserted | reordered | checkpoint | legacy
    detail: str
    tenant_id: LogId = None

    def __str__(self) -> str:
        return f"{log_label(self.tenant_id)} log, entry {self.seq}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Report:
    logs: int
    entries: int
    checkpoints: int
    problems: tuple[Problem, ...]  # by log, then by entry number

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def first_per_log(self) -> tuple[Problem, ...]:
        """The first damaged entry of each damaged log."""
        seen: dict[LogId, Problem] = {}
        for problem in self.problems:
            seen.setdefault(problem.tenant_id, problem)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class _Stored:
    entry: Entry
    leaf: bytes  # as stored

    @property
    def seq(self) -> int:
        return self.entry.seq


def _stored(row: Record) -> _Stored:
    entry = stored_entry(row, seq=int(row["tenant_seq"]), prev=bytes(row["prev_hash"]))
    return _Stored(entry, bytes(row["leaf_hash"]))


async def verify_log(
    conn: Connection, signer: CheckpointSigner, *, tenant_ids: Iterable[LogId] | None = None
) -> Report:
    """Check every log, or only the logs of ``tenant_ids`` (None in it: the operator log)."""
    logs = list(tenant_ids) if tenant_ids is not None else await _every_log(conn)
    entries = checkpoints = 0
    problems: list[Problem] = []
    for tenant_id in logs:
        counted, signed, found = await _verify_one(conn, signer, tenant_id)
        entries += counted
        checkpoints += signed
        problems += [replace(p, tenant_id=tenant_id) for p in sorted(found, key=lambda p: p.seq)]
    return Report(len(logs), entries, checkpoints, tuple(problems))


async def _every_log(conn: Connection) -> list[LogId]:
    # A log may survive only as a head row or a checkpoint when its entries were deleted.
    rows = await conn.fetch(
        "SELECT tenant_id::text AS tenant_id FROM rapport.audit_entries "
        "UNION SELECT tenant_id::text FROM rapport.audit_tenant_heads "
        "UNION SELECT tenant_id::text FROM rapport.audit_checkpoints "
        "ORDER BY tenant_id NULLS FIRST"
    )
    return [r["tenant_id"] for r in rows]


async def _verify_one(
    conn: Connection, signer: CheckpointSigner, tenant_id: LogId
) -> tuple[int, int, list[Problem]]:
    where = log_where(tenant_id)
    rows = [
        _stored(r)
        for r in await conn.fetch(
            f"SELECT * FROM rapport.audit_entries WHERE {where} ORDER BY tenant_seq", tenant_id
        )
    ]
    head = await conn.fetchrow(
        f"SELECT seq, legacy FROM rapport.audit_tenant_heads WHERE {where}", tenant_id
    )
    checkpoints = await load_checkpoints(conn, tenant_id)
    if head is not None and head["legacy"]:
        legacy = (
            "the log still has the catalog-wide chain's hashes; starting the app or running "
            "`rapport audit` re-chains it"
        )
        return len(rows), len(checkpoints), [Problem(1, "legacy", legacy)]
    problems = _chain_problems(rows, 0 if head is None else int(head["seq"]))
    leaves = [r.leaf for r in rows]
    intact_prefix = _intact_prefix(rows, problems)
    for checkpoint in checkpoints:
        if not signer.is_valid(checkpoint):
            problems.append(
                Problem(
                    checkpoint.size,
                    "checkpoint",
                    f"the checkpoint of size {checkpoint.size} has an invalid signature "
                    f"(key {checkpoint.key_id}; this log signs with {signer.key_id})",
                )
            )
        elif checkpoint.size > len(rows):
            problems.append(
                Problem(
                    len(rows) + 1,
                    "deleted",
                    f"a signed checkpoint counts {checkpoint.size} entries; "
                    f"only {len(rows)} are stored",
                )
            )
        elif (
            checkpoint.size <= intact_prefix and root(leaves[: checkpoint.size]) != checkpoint.root
        ):
            problems.append(
                Problem(
                    checkpoint.size,
                    "edited",
                    f"entries 1..{checkpoint.size} do not hash to the root signed in the "
                    "checkpoint of that size: the log was rewritten with recomputed hashes",
                )
            )
    return len(rows), len(checkpoints), problems


def _intact_prefix(rows: Sequence[_Stored], problems: Sequence[Problem]) -> int:
    first = min((p.seq for p in problems), default=len(rows) + 1)
    return first - 1


def _chain_problems(rows: Sequence[_Stored], head: int) -> list[Problem]:
    problems: list[Problem] = []
    by_leaf = {r.leaf: r for r in rows}
    by_prev: dict[bytes, _Stored] = {}
    for r in rows:
        by_prev.setdefault(r.entry.prev_hash, r)
    expected = 1
    previous: _Stored | None = None
    before_previous: _Stored | None = None
    for row in rows:
        if row.seq != expected:
            missing = f"{expected}" if row.seq == expected + 1 else f"{expected}..{row.seq - 1}"
            problems.append(
                Problem(expected, "deleted", f"entry {missing} is missing from the log")
            )
        elif row.entry.leaf_hash() != row.leaf:
            problems.append(_changed(row, previous, by_leaf, by_prev))
        else:
            link = previous.leaf if previous is not None else _ZERO
            if row.entry.prev_hash != link and previous is not None:
                if before_previous is not None and row.entry.prev_hash == before_previous.leaf:
                    problems.append(
                        Problem(
                            previous.seq,
                            "inserted",
                            f"entry {previous.seq} was not appended by the log: entry "
                            f"{row.seq} links directly to entry {before_previous.seq}",
                        )
                    )
                else:
                    problems.append(
                        Problem(
                            previous.seq,
                            "edited",
                            f"entry {previous.seq} was rewritten together with its hash: entry "
                            f"{row.seq} links to a different hash",
                        )
                    )
            elif row.entry.prev_hash != link:
                problems.append(
                    Problem(row.seq, "edited", "the first entry does not start the chain")
                )
        if problems:
            return problems  # everything after the first break is unreliable
        before_previous, previous = previous, row
        expected = row.seq + 1
    last = rows[-1].seq if rows else 0
    if last > head:
        problems.append(
            Problem(
                head + 1,
                "inserted",
                f"entries {head + 1}..{last} lie beyond the log head ({head}): "
                "they were not appended by the log",
            )
        )
    elif last < head:
        problems.append(
            Problem(last + 1, "deleted", f"entries {last + 1}..{head} are missing from the end")
        )
    return problems


def _changed(
    row: _Stored,
    previous: _Stored | None,
    by_leaf: dict[bytes, _Stored],
    by_prev: dict[bytes, _Stored],
) -> Problem:
    """A row whose columns do not hash to its leaf: moved from elsewhere, or edited."""
    candidates: set[int] = {row.seq - 1, row.seq + 1}
    successor = by_prev.get(row.leaf)
    if successor is not None:
        candidates.add(successor.seq - 1)
    predecessor = by_leaf.get(row.entry.prev_hash)
    if predecessor is not None:
        candidates.add(predecessor.seq + 1)
    for seq in sorted(candidates - {row.seq}):
        if seq > 0 and replace(row.entry, seq=seq).leaf_hash() == row.leaf:
            if seq == row.seq - 1 and previous is not None:
                # Everything from here on moved up by one: the entry before it was slipped in.
                return Problem(
                    previous.seq,
                    "inserted",
                    f"entry {previous.seq} was not appended by the log: the entries after it "
                    f"were renumbered to make room (entry {row.seq} was written as {seq})",
                )
            return Problem(
                row.seq,
                "reordered",
                f"the entry stored at {row.seq} was written as entry {seq} "
                "(entries were moved or swapped)",
            )
    return Problem(
        row.seq, "edited", "its stored content no longer matches its hash (data was changed)"
    )
