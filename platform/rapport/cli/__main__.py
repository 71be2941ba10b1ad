"""``python -m rapport.cli``: the same as the ``rapport`` command."""

from __future__ import annotations

from rapport.cli import run

run()
