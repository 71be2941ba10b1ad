"""The public surface of rapport.expr is exactly its sorted ``__all__``."""

from __future__ import annotations

import types

import rapport.expr


def test_all_is_sorted_and_complete() -> None:
    exported = rapport.expr.__all__
    public = {
        name
        for name, value in vars(rapport.expr).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    constants = [n for n in exported if n.isupper()]
    others = [n for n in exported if not n.isupper()]
    assert exported == sorted(constants) + sorted(others)  # ruff's __all__ order (RUF022)
    assert set(exported) == public
    assert all(getattr(rapport.expr, name) is not None for name in exported)
