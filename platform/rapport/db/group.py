"""Group commit: concurrent writes of one tenant share one transaction and one commit.

Why. Every audited write appends to its tenant's hash chain under that log's head-row lock,
held until commit (rapport.audit.log). With one transaction per write, a tenant's writes
commit one at a time, each waiting for its own WAL flush (~8 ms on a plain disk), so a tenant
tops out near 100 audited writes/s however many connections it has. Here the writes that
arrive while a tenant's transaction is open join it, each in its own savepoint, one after
the other on one connection; the last one commits for all of them. The head lock is taken
once per batch and the chain is extended entry by entry exactly as before — same hashes, same
Merkle frontier, same checkpoints — and one WAL flush covers the batch.

Guarantees. A unit returns only after the batch's commit succeeded, so nothing acknowledged
can be lost; if the commit fails every unit of the batch raises and none was acknowledged. A
unit that raises rolls back to its savepoint: its writes (record, audit entry, outbox rows)
vanish and the others' stay; the chain has no hole because the entry's number was taken inside
the savepoint. Units of one key run strictly one after another (FIFO), and at most one batch
per key is open in a process at a time, so a batch never waits for another batch of its own
process (no lock cycle between a batch holding the head lock and a later writer holding a
record). Writes are seen by later units of the same batch as by later transactions today.

Not for work that opens its own connection for the same key inside the unit (it would wait
for the batch's locks): the unit gets the batch's connection, use that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg

__all__ = ["GroupCommit"]

DEFAULT_MAX_BATCH = 32

# What a unit is handed: rapport.db.database.Connection, which builds the GroupCommit (generic
# rather than imported, so the two modules do not import each other).
C = TypeVar("C")


@dataclass(eq=False)
class _Batch:
    raw: Any  # asyncpg connection from the pool, inside ``outer``
    outer: Any  # the batch's top-level asyncpg transaction
    done: asyncio.Future[None]
    size: int = 0


@dataclass(eq=False)
class _Lane:
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0
    batch: _Batch | None = None


class GroupCommit(Generic[C]):
    """Per-key group commit over a pool; ``key`` is the tenant id."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        connection: Callable[[Any], C],
        unavailable: tuple[type[BaseException], ...],
        wrap: Callable[[BaseException], BaseException],
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._unavailable = unavailable
        self._max = max(1, max_batch)
        self._wrap = wrap
        self._lanes: dict[str, _Lane] = {}
        self._flushing: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def transaction(self, key: str) -> AsyncIterator[C]:
        """A savepoint in ``key``'s open batch (a new batch when none is open); on exit, waits
        for the batch's commit."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.waiting += 1
        try:
            await lane.turn.acquire()
        except BaseException:
            lane.waiting -= 1
            if lane.waiting == 0 and lane.batch is not None:
                # Cancelled while in line, and the units before it left the commit to it.
                self._flushing.add(asyncio.create_task(self._flush(lane)))
            raise
        lane.waiting -= 1
        failure: BaseException | None = None
        committed_here = False
        try:
            batch = lane.batch or await self._open(lane)
            batch.size += 1
            savepoint = batch.raw.transaction()
            try:
                await savepoint.start()
            except BaseException as error:
                await self._abort(lane, batch, error)
                raise
            try:
                yield self._connection(batch.raw)
            except BaseException as error:
                failure = error
                try:
                    await savepoint.rollback()
                except BaseException as broken:
                    await self._abort(lane, batch, broken)
                    raise
            else:
                try:
                    await savepoint.commit()
                except BaseException as error:
                    await self._abort(lane, batch, error)
                    raise
            if lane.waiting == 0 or batch.size >= self._max:
                # The last unit in line commits for all; the turn stays held meanwhile, so the
                # units arriving now form the next batch once this one is durable.
                lane.batch = None
                committed_here = True
                # Shielded: a cancelled committer must not tell the others "failed" about a
                # commit the server may have made; the batch's outcome is ``batch.done``.
                await asyncio.shield(self._commit(batch))
        finally:
            lane.turn.release()
            if lane.waiting == 0 and lane.batch is None and not lane.turn.locked():
                self._lanes.pop(key, None)
        if failure is not None:
            raise failure
        if not committed_here:
            await asyncio.shield(batch.done)

    async def _flush(self, lane: _Lane) -> None:
        async with lane.turn:
            batch = lane.batch
            if batch is not None and lane.waiting == 0:
                lane.batch = None
                with contextlib.suppress(Exception):
                    await self._commit(batch)  # the waiting units get its outcome
        self._flushing.discard(asyncio.current_task())

    async def _open(self, lane: _Lane) -> _Batch:
        try:
            raw = await self._pool.acquire()
            outer = raw.transaction()
        except self._unavailable as error:
            raise self._wrap(error) from error
        try:
            await outer.start()
        except BaseException as error:
            await self._pool.release(raw)
            if isinstance(error, self._unavailable):
                raise self._wrap(error) from error
            raise
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Retrieve a failure nobody else waits for (no "exception never retrieved" noise).
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        lane.batch = _Batch(raw, outer, done)
        return lane.batch

    async def _abort(self, lane: _Lane, batch: _Batch, error: BaseException) -> None:
        """The batch's connection failed mid-way: every unit of it fails, none committed."""
        if lane.batch is batch:
            lane.batch = None
        if not batch.done.done():
            failure = self._wrap(error) if isinstance(error, self._unavailable) else error
            batch.done.set_exception(failure)
        with contextlib.suppress(Exception):
            await batch.outer.rollback()
        await self._pool.release(batch.raw)

    async def _commit(self, batch: _Batch) -> None:
        try:
            await batch.outer.commit()
        except BaseException as error:
            failure = self._wrap(error) if isinstance(error, self._unavailable) else error
            batch.done.set_exception(failure)
            with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                await batch.outer.rollback()
            if failure is error:
                raise
            raise failure from error
        else:
            batch.done.set_result(None)
        finally:
            await self._pool.release(batch.raw)
