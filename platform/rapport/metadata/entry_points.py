"""What installed distributions add to the metadata layer, found by their entry points.

Document kinds (group ``rapport.document_kinds``, each a
:class:`~rapport.metadata.document_kinds.KindCompiler`) and publish participants (group
``rapport.publish_participants``, each a :class:`~rapport.metadata.publishing.PublishParticipant`)
are declared in the ``pyproject.toml`` of the distribution that provides them — Rapport's own
for the kernel's forms, workflows, permissions and audit entry, a partner's for its plug-in's —
exactly as plug-ins are (group ``rapport.plugins``). The metadata layer reads them here, once per
process, and so imports none of the capabilities above it and needs nothing installed in order.

A declaration that does not load, names the wrong type or disagrees with its kind is a
packaging error: the process must not start, and the message names the distribution.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from typing import TypeVar

__all__ = ["declared"]

T = TypeVar("T")


def declared(
    group: str, expected: type[T], entry_points: Iterable[importlib.metadata.EntryPoint] | None
) -> tuple[tuple[str, T], ...]:
    """``(name, object)`` of every entry point of ``group``, sorted by name.

    ``entry_points``: the ones to load (None: those of the installed distributions). Raises
    RuntimeError listing every declaration that does not load or is not an ``expected``.
    """
    found = importlib.metadata.entry_points(group=group) if entry_points is None else entry_points
    loaded: list[tuple[str, T]] = []
    problems: list[str] = []
    for entry in sorted(found, key=lambda e: e.name):
        where = f"{entry.name} = {entry.value!r} ({_distribution(entry)})"
        try:
            value = entry.load()
        except Exception as exc:  # any import error of a third-party package is reported
            problems.append(f"{where} does not load: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(value, expected):
            problems.append(f"{where} is a {type(value).__name__}, not a {expected.__name__}")
            continue
        loaded.append((entry.name, value))
    if problems:
        raise RuntimeError(f"Entry points of {group!r} do not fit: " + "; ".join(problems))
    return tuple(loaded)


def _distribution(entry: importlib.metadata.EntryPoint) -> str:
    dist = entry.dist
    return "an unnamed distribution" if dist is None else f"distribution {dist.name}"
