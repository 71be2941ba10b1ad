"""Where a record writer gets its sealer: the tenant's current data key, as a FieldSealer.

The writer (a lower layer) knows only the ``Sealers`` protocol of :mod:`rapport.records.writer`;
whoever builds a writer hands it a :class:`KeyRingSealers`.
"""

from __future__ import annotations

from rapport.crypto.fields import FieldSealer
from rapport.crypto.keys import KeyRing, default_keyring
from rapport.db.database import Connection

__all__ = ["KeyRingSealers"]


class KeyRingSealers:
    """Sealers from a key ring (the process settings' unless one is given, read on first use:
    a writer that never writes a sensitive field needs no master key)."""

    def __init__(self, keyring: KeyRing | None = None) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> KeyRing:
        if self._keyring is None:
            self._keyring = default_keyring()
        return self._keyring

    async def sealer(self, conn: Connection, tenant_id: str) -> FieldSealer:
        """The tenant's current data key (one indexed read per write, so a rotation by another
        process applies at once)."""
        return FieldSealer(await self.keyring.for_write(conn, tenant_id))
