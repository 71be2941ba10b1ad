"""WeCom (企业微信) group-robot messages.

A robot is a URL ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``; the message is
JSON ``{"msgtype": "markdown", "markdown": {"content": ...}}`` and the answer
``{"errcode": 0, "errmsg": "ok"}`` (any other errcode is a failure, even with HTTP 200).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_BYTES", "message"]

MAX_BYTES = 4096  # WeCom refuses markdown content longer than this (UTF-8 bytes)


def message(title: str, text: str) -> dict[str, Any]:
    content = f"**{title}**\n{text}" if text else f"**{title}**"
    encoded = content.encode()
    if len(encoded) > MAX_BYTES:
        content = encoded[: MAX_BYTES - 3].decode(errors="ignore") + "…"
    return {"msgtype": "markdown", "markdown": {"content": content}}
