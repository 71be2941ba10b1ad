"""Collecting metadata problems and pointing at the place in a document they are about."""

from __future__ import annotations

from rapport.errors import MetadataProblem

__all__ = ["Problems", "pointer"]


def pointer(*parts: str | int) -> str:
    """An RFC 6901 JSON pointer: ``pointer("properties", "a/b")`` -> ``/properties/a~1b``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class Problems:
    """An ordered, duplicate-free list of problems, filled by every check in turn."""

    def __init__(self) -> None:
        self._items: dict[MetadataProblem, None] = {}

    def add(self, document: str, where: str, message: str, hint: str = "") -> None:
        self._items.setdefault(MetadataProblem(document, where, message, hint))

    def extend(self, problems: list[MetadataProblem]) -> None:
        for problem in problems:
            self._items.setdefault(problem)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def as_list(self) -> list[MetadataProblem]:
        return list(self._items)
