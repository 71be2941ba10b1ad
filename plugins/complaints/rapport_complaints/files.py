"""Evidence files: the bytes in a :class:`FileStore`, the metadata and checksum as a record.

The store is an interface so a deployment can put files elsewhere (object storage) without
touching the plug-in; :class:`LocalFileStore` keeps them on the local filesystem. Keys are
random, so a key says nothing about the file or who uploaded it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rapport.db.database import Connection
from rapport.errors import NotFound, ValidationFailed
from rapport.principal import Principal
from rapport.records.writer import RecordWriter

__all__ = ["FileStore", "LocalFileStore", "StoredFile", "attach_evidence"]

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class FileStore(Protocol):
    def put(self, data: bytes) -> StoredFile: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalFileStore:
    """Files under ``root``, one per key; written to a temporary name, then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key.isalnum():  # keys are ours; anything else could escape the folder
            raise NotFound(f"No stored file {key!r}.", hint="Use the key the store returned.")
        return self.root / key[:2] / key

    def put(self, data: bytes) -> StoredFile:
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"No stored file {key!r}.", hint="It was deleted or never stored.")
        return path.read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


async def attach_evidence(
    conn: Connection,
    writer: RecordWriter,
    store: FileStore,
    *,
    complaint_id: str,
    file_name: str,
    content_type: str,
    data: bytes,
    principal: Principal,
) -> str:
    """Store the bytes, then create the evidence record (checksum included); its id.

    If the record cannot be written the stored bytes are deleted again, so no orphan remains.
    """
    if len(data) > MAX_EVIDENCE_BYTES:
        raise ValidationFailed(
            [],
            message=f"The file has {len(data)} bytes; evidence may have at most "
            f"{MAX_EVIDENCE_BYTES}.",
            hint="Split or compress the file.",
        )
    stored = store.put(data)
    try:
        return await writer.create(
            conn,
            writer.metadata.model.entity("complaints/evidence"),
            {
                "complaintId": complaint_id,
                "fileName": file_name,
                "contentType": content_type,
                "size": stored.size,
                "sha256": stored.sha256,
                "storageKey": stored.key,
            },
            principal=principal,
        )
    except BaseException:
        store.delete(stored.key)
        raise
