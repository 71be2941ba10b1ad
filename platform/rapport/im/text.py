"""Message text within the platforms' limits, which count UTF-8 bytes."""

from __future__ import annotations

import re

__all__ = ["clip", "plain_text"]

_MARKUP = re.compile(r"(\*\*|__|`|^#{1,6}\s*)", re.MULTILINE)


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to ``max_bytes`` UTF-8 bytes (with an ellipsis), never inside a character."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode(errors="ignore") + "…"


def plain_text(markdown: str) -> str:
    """Markdown emphasis and headings removed, for text and card descriptions."""
    return _MARKUP.sub("", markdown).strip()
