"""Rapport plug-in ``contracts``: electronic labour contracts with evidence.

A contract (type, employee, employer entity, dates, probation, position, workplace,
working-hour system, salary — sensitive: encrypted at rest, masked for HR staff) is drafted
from a template with placeholders; ``issue`` (approved by an HR manager) renders the exact PDF
(:mod:`rapport_contracts.rendering`) as a ``contracts/document`` and opens one signature per
party. The signing ceremony (:mod:`rapport_contracts.signing`): each signer is authenticated
(a login, plus TOTP or a one-time code sent through the notification channels), reviews the
PDF by its SHA-256 and consents; the facts are timestamped by the tenant's RFC 3161 TSA and
appended to the audit log. :mod:`rapport_contracts.evidence` packs PDF, facts, tokens and
audit inclusion proofs into one zip — downloaded over HTTP, audited — that ``rapport evidence
verify`` checks offline. Amendments (:mod:`rapport_contracts.amendments`) are signed like the
contract, as PDFs of their own; the renewal decision drafts the successor
(:mod:`rapport_contracts.renewal`); a termination issues its notice, linked to the exits
separation (:mod:`rapport_contracts.termination`). Timers
(``contracts/contract-flow``): expiry reminders (60/30 days by default, tenant settings), the
renewal decision, escalation at expiry without one, and the LCL art. 10/82 flag.
"""

from __future__ import annotations

from rapport.plugins import PluginSpec
from rapport_contracts.hooks import ContractHooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="contracts",
    version="1.0.0",
    package=__name__,
    description="Labour contracts: templates, PDF, signing ceremony, evidence, renewal timers.",
    requires=("org>=1,<2",),
    platform=">=0.1,<1",
    hooks=ContractHooks(),
)
