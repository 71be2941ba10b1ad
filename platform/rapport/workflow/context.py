"""What every workflow operation needs: the tenant version, its writer, who acts, and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rapport.db.tenants import Tenant
from rapport.metadata.bundle import TenantMetadata
from rapport.principal import ADMIN_ROLE, Principal
from rapport.records.writer import RecordWriter

__all__ = ["WorkflowContext"]


@dataclass(frozen=True, slots=True)
class WorkflowContext:
    tenant: Tenant
    metadata: TenantMetadata
    writer: RecordWriter
    principal: Principal
    now: dt.datetime

    def acting_as(self, principal: Principal) -> WorkflowContext:
        return WorkflowContext(self.tenant, self.metadata, self.writer, principal, self.now)

    def with_workflow_authority(self) -> WorkflowContext:
        """The context a checked transition writes with: the same subject (audit shows who),
        acting with the workflow's authority. The engine has already decided that this user may
        run the transition (roles, ``transition:<name>``, guard), and effects are what the admin
        configured in the workflow document; the permission participant would otherwise ask
        for a plain ``update`` grant on a field (the state) that no one may update directly."""
        principal = Principal(
            tenant=self.principal.tenant,
            subject=self.principal.subject,
            roles=self.principal.roles | {ADMIN_ROLE},
            attributes=self.principal.attributes,
        )
        return self.acting_as(principal)
