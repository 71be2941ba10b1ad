"""The WeCom/DingTalk capability: the apps, accounts, preferences and delivery log in GraphQL,
the app-message delivery of notifications (``notify.app``) and the directory sync an admin asks
for (``im.sync``); key rotation re-seals its app secrets and access tokens."""

from __future__ import annotations

from types import MappingProxyType

from rapport.capability import Capability
from rapport.im.apps import SEALED
from rapport.im.directory import SYNC_TOPIC, run_sync_job
from rapport.im.graphql import contribute_im
from rapport.notify.app_delivery import APP_TOPIC
from rapport.notify.app_delivery import deliver as deliver_app_message

__all__ = ["IM"]

IM = Capability(
    name="im",
    graphql=(contribute_im,),
    handlers=MappingProxyType({APP_TOPIC: deliver_app_message, SYNC_TOPIC: run_sync_job}),
    sealed=SEALED,  # app secrets and access tokens
)
