"""DingTalk (钉钉) custom-robot messages, signed.

A robot is a URL ``https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` with a secret
(加签). Each call appends ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret,
f"{timestamp}\\n{secret}")), URL-encoded; the body is ``{"msgtype": "markdown", "markdown":
{"title": ..., "text": ...}}`` and the answer ``{"errcode": 0, ...}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from rapport.notify.signing import dingtalk_sign

__all__ = ["message", "signed_url"]


def message(title: str, text: str) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {"title": title[:100], "text": f"#### {title}\n{text}" if text else title},
    }


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """``url`` with ``timestamp`` and ``sign`` added (no secret: the robot uses keywords/IPs)."""
    if not secret:
        return url
    parts = urlsplit(url)
    extra = urlencode({"timestamp": str(timestamp_ms), "sign": dingtalk_sign(secret, timestamp_ms)})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
