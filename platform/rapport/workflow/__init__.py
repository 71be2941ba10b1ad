"""Workflows: state machines over one enum field of an entity, with approvals and SLAs.

A workflow document (``*.workflow.json``, meta-schema ``schemas/workflow.schema.json``) compiles
into a frozen :class:`~rapport.workflow.document.Workflow`; the tenant's set of them is
``workflows_of(metadata)`` (the workflow document kind, :mod:`rapport.workflow.kind`). :func:`rapport.workflow.engine.transition` moves a record between
states in one transaction; :mod:`~rapport.workflow.approvals` holds approval requests,
:mod:`~rapport.workflow.sla` deadlines and :func:`~rapport.workflow.sla.sweep_sla`.
"""
