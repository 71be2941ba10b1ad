"""The permission API the read paths and contributed resolvers call.

* :func:`authorize` — may this principal do ``action`` on an entity at all? (raises Forbidden)
* :func:`read_policy` — the compiled :class:`ReadPolicy` a read path applies (lists, gets,
  relations, aggregates today; search, bulk export and subscriptions call it the same way).
* :func:`access_for` — the per-request view the query planner uses: ``None`` for admins (no
  rule applies, nothing is added to the SQL), otherwise an :class:`Access` bound to the
  principal's tenant and roles, which also secures client filters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapport.auth.permissions.compiled import Permissions
from rapport.auth.permissions.kind import permissions_of
from rapport.auth.permissions.policy import FieldAccess, ReadPolicy, any_of, both
from rapport.errors import Forbidden, PathSegment
from rapport.expr.ast import TRUE, And, Compare, Descendants, Expr, Literal, Not, Or, Related
from rapport.metadata.ir import EntityDef, Model
from rapport.principal import Principal

if TYPE_CHECKING:
    from rapport.metadata.bundle import TenantMetadata

__all__ = ["Access", "access_for", "authorize", "read_policy"]

Path = tuple[PathSegment, ...]


def _domain(principal: Principal) -> str:
    if principal.tenant is None:
        raise Forbidden(
            "An operator token has no tenant, so it holds no rights on tenant data.",
            hint="Use a token of the tenant.",
        )
    return principal.tenant


def authorize(principal: Principal, metadata: TenantMetadata, entity_id: str, action: str) -> None:
    """Raise Forbidden unless ``principal`` may do ``action`` on ``entity_id`` (admins may
    do everything in their tenant)."""
    domain = _domain(principal)
    if principal.is_admin:
        return
    if not permissions_of(metadata).allows(domain, principal.roles, entity_id, action):
        raise Forbidden(
            f"Roles {sorted(principal.roles)} may not {action} {entity_id} records.",
            hint="Ask an administrator to grant the action in a permission document.",
            details={"entity": entity_id, "action": action},
        )


def read_policy(
    principal: Principal, metadata: TenantMetadata, entity: str, action: str = "read"
) -> ReadPolicy | None:
    """The read policy of ``principal`` on ``entity`` for ``action`` (read, export,
    aggregate); None for admins, who read everything."""
    domain = _domain(principal)
    if principal.is_admin:
        return None
    return permissions_of(metadata).read_policy(
        domain, principal.roles, metadata.model.entity(entity), action
    )


def access_for(principal: Principal, metadata: TenantMetadata) -> Access | None:
    domain = _domain(principal)
    if principal.is_admin:
        return None
    return Access(permissions_of(metadata), metadata.model, domain, principal.roles)


class Access:
    """A non-admin principal's permissions, as the planner applies them."""

    __slots__ = ("domain", "model", "permissions", "roles")

    def __init__(
        self, permissions: Permissions, model: Model, domain: str, roles: frozenset[str]
    ) -> None:
        self.permissions = permissions
        self.model = model
        self.domain = domain
        self.roles = roles

    def policy(self, entity: EntityDef, action: str = "read") -> ReadPolicy:
        return self.permissions.read_policy(self.domain, self.roles, entity, action)

    def require(self, entity: EntityDef, action: str, path: Path) -> None:
        if not self.permissions.allows(self.domain, self.roles, entity.id, action):
            raise Forbidden(
                f"Roles {sorted(self.roles)} may not {action} {entity.id} records.",
                hint="Ask an administrator to grant the action in a permission document.",
                path=path,
                details={"entity": entity.id, "action": action, "path": list(path)},
            )

    def readable(self, policy: ReadPolicy, name: str, path: Path, use: str) -> None:
        """Raise Forbidden unless ``name`` is shown in clear on every visible row: ordering,
        grouping or aggregating on it would otherwise reveal hidden values."""
        access = policy.access(name)
        if access.always:
            return
        where = "on no record" if access.never else "only on some records"
        raise Forbidden(
            f"Field {name} of {policy.entity.id} is readable {where} for roles "
            f"{sorted(self.roles)}, so it cannot be {use}.",
            hint=f"Remove {name} from the request, or ask for a rule granting it.",
            path=path,
            details={"field": name, "path": list(path)},
        )

    def sortable(self, policy: ReadPolicy, name: str, path: Path) -> Expr | None:
        """Where ``name`` may be sorted by: None on every row; the rows where it is shown when
        that is only some (the sort uses the shown value); Forbidden when it is shown nowhere."""
        access = policy.access(name)
        if access.always:
            return None
        if access.never:
            self.readable(policy, name, path, "ordered by")
        return access.clear

    # -- client filters ----------------------------------------------------------------------

    def secure_filter(
        self, expr: Expr, entity: EntityDef, path: Path, action: str = "read"
    ) -> Expr:
        """``expr`` as the principal may run it: comparisons on fields shown only on some rows
        compare the value the principal sees (null elsewhere); relations only reach records
        the principal may read. A field readable nowhere raises Forbidden with its path."""
        return self._secure(expr, self.policy(entity, action), path)

    def _secure(self, expr: Expr, policy: ReadPolicy, path: Path) -> Expr:
        if isinstance(expr, And):
            return And(tuple(self._secure(i, policy, path) for i in expr.items))
        if isinstance(expr, Or):
            return Or(tuple(self._secure(i, policy, path) for i in expr.items))
        if isinstance(expr, Not):
            return Not(self._secure(expr.item, policy, path))
        if isinstance(expr, Compare):
            return self._compare(expr, policy, path)
        if isinstance(expr, Descendants):
            return self._descendants(expr, policy, path)
        return self._related(expr, policy, path)

    def _field_access(self, policy: ReadPolicy, name: str, path: Path) -> FieldAccess:
        access = policy.access(name)
        if access.never:
            raise Forbidden(
                f"Field {name} of {policy.entity.id} is not readable for roles "
                f"{sorted(self.roles)}, so it cannot be filtered on.",
                hint=f"Remove {name} from the filter.",
                path=(*path, name),
                details={"field": name, "path": [*path, name]},
            )
        return access

    def _compare(self, expr: Compare, policy: ReadPolicy, path: Path) -> Expr:
        name = policy.field_of(expr.column)
        access = self._field_access(policy, name, path)
        if access.always:
            return expr
        # Where the field is hidden the principal sees null: the comparison there is what it
        # is for null — a constant that depends on the operator, never on the hidden value.
        if _true_for_null(expr):
            return any_of([Not(access.clear), expr])
        return both(access.clear, expr)

    def _descendants(self, expr: Descendants, policy: ReadPolicy, path: Path) -> Expr:
        # The walk reads the tree's parent links: the edge must be readable somewhere, and the
        # record's node field like any compared field (hidden: null, which matches nothing).
        self._field_access(self.policy(self.model.entity(expr.tree)), expr.edge, path)
        access = self._field_access(policy, policy.field_of(expr.column), path)
        return expr if access.always else both(access.clear, expr)

    def _related(self, expr: Related, policy: ReadPolicy, path: Path) -> Expr:
        """Related records as the principal sees them: only visible ones exist.

        ``_some``/``_none`` need the related record to be visible *and* to match; ``_every``
        ranges over visible records only (a hidden one neither passes nor fails), so an
        always-true predicate under ``_every`` is true for everybody and singles nobody out."""
        target = self.model.entity(expr.target)
        target_policy = self.policy(target)
        secured = self._secure(expr.inner, target_policy, path)
        if expr.relation == "many_to_one":
            access = self._field_access(policy, expr.field, path)
            inner = both(target_policy.row, secured)
            related = Related(
                expr.field, expr.relation, expr.target, expr.quantifier, inner, source=expr.source
            )
            return related if access.always else both(access.clear, related)
        visible = target_policy.row
        link: Expr | None = None
        shown = TRUE  # where the relation field itself is shown on the current record
        if expr.relation == "reverse":
            source_field = next(
                r.source_field for r in policy.entity.reverse_relations if r.name == expr.field
            )
            visible = both(self._field_access(target_policy, source_field, path).clear, visible)
        else:
            shown = self._field_access(policy, expr.field, path).clear
            link = self._link_visibility(policy.entity, expr.field)
        if expr.quantifier == "every":
            inner = secured if visible == TRUE else any_of([Not(visible), secured])
        else:
            inner = both(visible, secured)
        related = Related(
            expr.field,
            expr.relation,
            expr.target,
            expr.quantifier,
            inner,
            source=expr.source,
            link=link,
        )
        if shown == TRUE:
            return related
        # Where the field is hidden the principal sees no related records at all.
        return both(shown, related) if expr.quantifier == "some" else any_of([Not(shown), related])

    def _link_visibility(self, entity: EntityDef, field: str) -> Expr | None:
        """Which link rows of a many-to-many count: the link entity's row rule and both of
        its relations readable (what the planner lists in the connection)."""
        m2m = entity.field(field).many_to_many
        if m2m is None:  # pragma: no cover - the parser only builds many_to_many for these
            return None
        link_policy = self.policy(self.model.entity(m2m.through))
        condition = both(
            link_policy.row,
            both(
                link_policy.access(m2m.source_field).clear,
                link_policy.access(m2m.target_field).clear,
            ),
        )
        return None if condition == TRUE else condition


def _true_for_null(expr: Compare) -> bool:
    """What ``expr`` gives on a null value (see rapport.expr null semantics)."""
    if expr.op == "_is_null":
        return isinstance(expr.value, Literal) and expr.value.value is True
    return expr.op in ("_neq", "_nin")
