"""Notifications: in-app records, email, WeCom and DingTalk robots, and outbound webhooks."""

from __future__ import annotations

from rapport.notify.inbox import notify

__all__ = ["notify"]
