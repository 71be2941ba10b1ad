"""Selection sets → read plans (``rapport.sql.plan``).

The planner resolves what GraphQL syntax leaves open — fragments and inline fragments,
``@skip``/``@include``, aliases, merged fields, argument literals and variables — and reads the
role each generated field carries to decide what it stands for. The plan it returns no longer
mentions GraphQL; ``rapport.sql.query`` compiles it.

Arguments are of two sorts. Value arguments (``first last after before id``) given by a variable
become deferred parameters, so the plan — and its compiled SQL — serve every value; only
whether they are null shapes the plan. Every other argument (``where``, ``orderBy``,
``groupBy``) and every directive condition is read with its value: the executor keys its plan
cache by those variables' values.
"""

from __future__ import annotations

from dataclasses import replace

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    get_named_type,
)

from rapport.auth.permissions.policy import MASK_TEXT, MASKABLE_KINDS, ReadPolicy, both
from rapport.errors import FieldError, ValidationFailed
from rapport.expr.ast import FALSE, TRUE, Expr
from rapport.graphql.arguments import FieldArguments, Path
from rapport.graphql.fragments import collect_fields
from rapport.graphql.types.roles import (
    ROLE,
    AggregatePart,
    AggregateRoot,
    AggregateValue,
    ColumnValue,
    ComputedValue,
    ConnectionPart,
    EdgePart,
    FilePart,
    FileValue,
    GroupKeyValue,
    ListRoot,
    ManyToManyConnection,
    PageInfoPart,
    ReverseConnection,
    SingleRoot,
    ToOne,
    role_of,
)
from rapport.metadata.ir import EntityDef, FieldKind
from rapport.sql import plan
from rapport.sql.pagination import DEFAULT_PAGE_SIZE, PageSize
from rapport.sql.params import RecordId

__all__ = ["Planner"]


class Planner(FieldArguments):
    """Plans the root fields of one operation for one set of variable values."""

    # -- roots ------------------------------------------------------------------------------

    def root(self, field: GraphQLField, nodes: list[FieldNode], key: str) -> plan.RootPlan:
        """The plan of one query root field; raises ValidationFailed for bad arguments."""
        role = field.extensions.get(ROLE) if field.extensions else None
        node = nodes[0]
        object_type = get_named_type(field.type)
        if not isinstance(object_type, GraphQLObjectType):  # pragma: no cover - roles say so
            raise TypeError(f"{key} does not return an object")
        if isinstance(role, SingleRoot):
            entity = self.model.entity(role.entity)
            return plan.SingleQuery(
                entity=entity,
                id=RecordId(self._value_argument(field, node, "id"), ("id",)),
                selection=self.selection(object_type, nodes, entity, ()),
                where=self.row_rule(entity),
            )
        if isinstance(role, ListRoot):
            entity = self.model.entity(role.entity)
            return plan.ListQuery(self.connection(key, field, nodes, plan.AllRows(entity), ()))
        if isinstance(role, AggregateRoot):
            return plan.AggregateQuery(self.aggregate(field, nodes, role))
        raise TypeError(f"root field {key} has no read role")  # pragma: no cover

    # -- permissions ------------------------------------------------------------------------

    def row_rule(self, entity: EntityDef) -> Expr | None:
        """The principal's row rule on ``entity`` (None: every record)."""
        policy = self._policy(entity)
        return None if policy is None or policy.row == TRUE else policy.row

    def _guard(
        self,
        node: plan.Column | plan.Computed | plan.File | plan.ToOne,
        policy: ReadPolicy | None,
        name: str,
        kind: FieldKind | None,
    ) -> plan.Node:
        """``node`` as the field rules show it: as is, or behind a CASE on the row."""
        if policy is None:
            return node
        access = policy.access(name)
        if access.always:
            return node
        mask = MASK_TEXT if kind in MASKABLE_KINDS and access.masked != FALSE else None
        return plan.Guarded(node.key, node, access.clear, access.masked if mask else None, mask)

    # -- records ----------------------------------------------------------------------------

    def _sub_fields(
        self, type_: GraphQLObjectType, nodes: list[FieldNode]
    ) -> dict[str, list[FieldNode]]:
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        return collect_fields(type_.name, sets, self.fragments, self.variables)

    def selection(
        self,
        type_: GraphQLObjectType,
        nodes: list[FieldNode],
        entity: EntityDef,
        path: Path,
    ) -> tuple[plan.Node, ...]:
        result: list[plan.Node] = []
        policy = self._policy(entity)
        for key, field_nodes in self._sub_fields(type_, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                result.append(plan.Constant(key, type_.name))
                continue
            field, role = role_of(type_, name)
            field_path = (*path, key)
            if isinstance(role, ColumnValue):
                secret = next(
                    (f for f in entity.fields if f.sensitive and f.column == role.column), None
                )
                sealed = None if secret is None else (entity.id, secret.name)
                stored = plan.Column(key, role.column, role.kind, sealed)
                name_of = policy.field_of(role.column) if policy else ""
                result.append(self._guard(stored, policy, name_of, role.kind))
            elif isinstance(role, ComputedValue):
                expr = self.index.computed(entity, role.field)
                readable = policy is not None and not policy.access(role.field).never
                if self.access is not None and readable:
                    # Related records the principal cannot see take no part in the value
                    # (where it is not readable at all, the guard makes it null).
                    expr = self.access.secure_filter(expr, entity, field_path)
                computed = plan.Computed(key, expr)
                result.append(self._guard(computed, policy, role.field, None))
            elif isinstance(role, FileValue):
                file = self._file(key, role, field, field_nodes)
                name_of = policy.field_of(role.column) if policy else ""
                result.append(self._guard(file, policy, name_of, None))
            elif isinstance(role, ToOne):
                relation = entity.field(role.field)
                if relation.relation is None or relation.column is None:  # pragma: no cover
                    raise TypeError(f"{entity.id}.{role.field} is not a relation")
                target = self.model.entity(relation.relation.target)
                target_type = _object_type(field)
                to_one = plan.ToOne(
                    key,
                    target,
                    relation.column,
                    self.selection(target_type, field_nodes, target, field_path),
                    where=self.row_rule(target),
                )
                result.append(self._guard(to_one, policy, role.field, None))
            elif isinstance(role, ReverseConnection):
                source = self.model.entity(role.source)
                column = source.field(role.source_field).column
                if column is None:  # pragma: no cover - relations are stored
                    raise TypeError(f"{source.id}.{role.source_field} has no column")
                rows = plan.ReverseRows(source, column)
                # A child whose link to this record is hidden from the principal is not
                # listed: the connection would otherwise reveal the hidden field.
                source_policy = self._policy(source)
                fk = None if source_policy is None else source_policy.access(role.source_field)
                extra = None if fk is None or fk.always else fk.clear
                result.append(
                    self.connection(key, field, field_nodes, rows, field_path, extra=extra)
                )
            elif isinstance(role, ManyToManyConnection):
                linked = self._linked(entity, role)
                if policy is not None and not policy.access(role.field).always:
                    linked = replace(linked, link_where=FALSE)
                result.append(self.connection(key, field, field_nodes, linked, field_path))
            else:  # pragma: no cover - every generated field has a role
                raise TypeError(f"{type_.name}.{name} has no read role")
        return tuple(result)

    def _linked(self, entity: EntityDef, role: ManyToManyConnection) -> plan.LinkedRows:
        m2m = entity.field(role.field).many_to_many
        if m2m is None:  # pragma: no cover
            raise TypeError(f"{entity.id}.{role.field} is not many-to-many")
        link = self.model.entity(m2m.through)
        source_column = link.field(m2m.source_field).column
        target_column = link.field(m2m.target_field).column
        if source_column is None or target_column is None:  # pragma: no cover
            raise TypeError(f"{link.id} relations have no columns")
        link_where = None
        link_policy = self._policy(link)
        if link_policy is not None:
            # A link row counts only if the principal may see it and both of its relations.
            link_where = both(
                link_policy.row,
                both(
                    link_policy.access(m2m.source_field).clear,
                    link_policy.access(m2m.target_field).clear,
                ),
            )
            link_where = None if link_where == TRUE else link_where
        return plan.LinkedRows(
            self.model.entity(m2m.target), link, source_column, target_column, link_where
        )

    def _file(
        self, key: str, role: FileValue, field: GraphQLField, nodes: list[FieldNode]
    ) -> plan.File:
        file_type = _object_type(field)
        parts: list[plan.FileProperty | plan.Constant] = []
        for sub_key, sub_nodes in self._sub_fields(file_type, nodes).items():
            name = sub_nodes[0].name.value
            if name == "__typename":
                parts.append(plan.Constant(sub_key, file_type.name))
                continue
            _, sub_role = role_of(file_type, name)
            if isinstance(sub_role, FilePart):
                parts.append(plan.FileProperty(sub_key, sub_role.name))
        return plan.File(key, role.column, tuple(parts))

    # -- connections ------------------------------------------------------------------------

    def connection(
        self,
        key: str,
        field: GraphQLField,
        nodes: list[FieldNode],
        source: plan.Source,
        path: Path,
        *,
        extra: Expr | None = None,
    ) -> plan.Connection:
        """``extra``: a condition on the listed records besides the filter and row rule."""
        entity = source.entity
        page = self._page(field, nodes[0], entity, path)
        rule = self.row_rule(entity)
        for condition in (rule, extra):
            if condition is not None:
                where = condition if page.where is None else both(condition, page.where)
                page = replace(page, where=where)
        connection_type = _object_type(field)
        parts: list[plan.ConnectionPart] = []
        for part_key, part_nodes in self._sub_fields(connection_type, nodes).items():
            name = part_nodes[0].name.value
            if name == "__typename":
                parts.append(plan.Constant(part_key, connection_type.name))
                continue
            part_field, role = role_of(connection_type, name)
            if not isinstance(role, ConnectionPart):  # pragma: no cover
                raise TypeError(f"{connection_type.name}.{name} has no connection role")
            if role.name == "totalCount":
                parts.append(plan.TotalCount(part_key))
            elif role.name == "pageInfo":
                parts.append(self._page_info(part_key, part_field, part_nodes))
            else:
                parts.append(
                    self._edges(part_key, part_field, part_nodes, entity, (*path, part_key))
                )
        return plan.Connection(key, source, page, tuple(parts))

    def _page_info(self, key: str, field: GraphQLField, nodes: list[FieldNode]) -> plan.PageInfo:
        info_type = _object_type(field)
        parts: list[plan.PageInfoField | plan.Constant] = []
        for sub_key, sub_nodes in self._sub_fields(info_type, nodes).items():
            name = sub_nodes[0].name.value
            if name == "__typename":
                parts.append(plan.Constant(sub_key, info_type.name))
                continue
            _, role = role_of(info_type, name)
            if isinstance(role, PageInfoPart):
                parts.append(plan.PageInfoField(sub_key, role.name))
        return plan.PageInfo(key, tuple(parts))

    def _edges(
        self, key: str, field: GraphQLField, nodes: list[FieldNode], entity: EntityDef, path: Path
    ) -> plan.Edges:
        edge_type = _object_type(field)
        parts: list[plan.EdgePart] = []
        for sub_key, sub_nodes in self._sub_fields(edge_type, nodes).items():
            name = sub_nodes[0].name.value
            if name == "__typename":
                parts.append(plan.Constant(sub_key, edge_type.name))
                continue
            node_field, role = role_of(edge_type, name)
            if isinstance(role, EdgePart) and role.name == "cursor":
                parts.append(plan.Cursor(sub_key))
            elif isinstance(role, EdgePart):
                node_type = _object_type(node_field)
                selection = self.selection(node_type, sub_nodes, entity, (*path, sub_key))
                parts.append(plan.EdgeNode(sub_key, selection))
        return plan.Edges(key, tuple(parts))

    def _page(
        self, field: GraphQLField, node: FieldNode, entity: EntityDef, path: Path
    ) -> plan.Page:
        first = self._value_argument(field, node, "first")
        last = self._value_argument(field, node, "last")
        if first is not None and last is not None:
            raise ValidationFailed(
                [FieldError((*path, "last"), "cannot be combined with first", "FIRST_AND_LAST")],
                hint="Page forward with first/after or backward with last/before.",
            )
        if last is not None:
            size: plan.Param = PageSize(last, (*path, "last"))
        elif first is not None:
            size = PageSize(first, (*path, "first"))
        else:
            size = DEFAULT_PAGE_SIZE
        after = self._value_argument(field, node, "after")
        before = self._value_argument(field, node, "before")
        return plan.Page(
            where=self._where(field, node, entity, path),
            order=self._order(field, node, entity, path),
            size=size,
            backward=last is not None,
            after=plan.CursorArgument(after, (*path, "after")) if after is not None else None,
            before=plan.CursorArgument(before, (*path, "before")) if before is not None else None,
        )

    # -- aggregates -------------------------------------------------------------------------

    def aggregate(
        self, field: GraphQLField, nodes: list[FieldNode], role: AggregateRoot
    ) -> plan.Aggregate:
        entity = self.model.entity(role.entity)
        node = nodes[0]
        policy = None
        if self.access is not None:
            self.access.require(entity, "aggregate", ())
            policy = self.access.policy(entity, "aggregate")
        group_by: list[str] = []
        groupable = self.index.groupable(entity)
        for index, name in enumerate(self._argument(field, node, "groupBy") or ()):
            column = groupable[name].column
            if self.access is not None and policy is not None:
                path = ("groupBy", index)
                self.access.readable(policy, policy.field_of(column), path, "grouped by")
            if column not in group_by:
                group_by.append(column)
        aggregate_type = _object_type(field)
        parts = self._aggregate_parts(aggregate_type, nodes, entity, policy, ())
        where = self._where(field, node, entity, (), action="aggregate")
        if policy is not None and policy.row != TRUE:
            where = policy.row if where is None else both(policy.row, where)
        return plan.Aggregate(
            entity=entity,
            where=where,
            group_by=tuple(group_by),
            parts=parts,
        )

    def _aggregate_parts(
        self,
        type_: GraphQLObjectType,
        nodes: list[FieldNode],
        entity: EntityDef,
        policy: ReadPolicy | None,
        path: Path,
    ) -> tuple[plan.AggregatePart, ...]:
        parts: list[plan.AggregatePart] = []
        for key, field_nodes in self._sub_fields(type_, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                parts.append(plan.Constant(key, type_.name))
                continue
            field, role = role_of(type_, name)
            if not isinstance(role, AggregatePart):  # pragma: no cover
                raise TypeError(f"{type_.name}.{name} has no aggregate role")
            if role.name == "count":
                parts.append(plan.Count(key))
            elif role.name == "groups":
                inner = self._aggregate_parts(
                    _object_type(field), field_nodes, entity, policy, (*path, key)
                )
                parts.append(plan.Groups(key, inner))
            elif role.name == "key":
                parts.append(self._group_key(key, _object_type(field), field_nodes))
            else:
                values = self._function_values(_object_type(field), field_nodes)
                if self.access is not None and policy is not None:
                    for value in values:
                        if isinstance(value, plan.AggregateValue):
                            self.access.readable(
                                policy,
                                policy.field_of(value.column),
                                (*path, key, value.key),
                                "aggregated",
                            )
                parts.append(plan.AggregateFunctions(key, role.name, values))
        return tuple(parts)

    def _function_values(
        self, type_: GraphQLObjectType, nodes: list[FieldNode]
    ) -> tuple[plan.AggregateValue | plan.Constant, ...]:
        values: list[plan.AggregateValue | plan.Constant] = []
        for key, field_nodes in self._sub_fields(type_, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                values.append(plan.Constant(key, type_.name))
                continue
            _, role = role_of(type_, name)
            if isinstance(role, AggregateValue):
                values.append(plan.AggregateValue(key, role.column, role.kind))
        return tuple(values)

    def _group_key(
        self, key: str, type_: GraphQLObjectType, nodes: list[FieldNode]
    ) -> plan.GroupKey:
        fields: list[plan.GroupKeyField | plan.Constant] = []
        for sub_key, field_nodes in self._sub_fields(type_, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                fields.append(plan.Constant(sub_key, type_.name))
                continue
            _, role = role_of(type_, name)
            if isinstance(role, GroupKeyValue):
                fields.append(plan.GroupKeyField(sub_key, role.column, role.kind))
        return plan.GroupKey(key, tuple(fields))


def _object_type(field: GraphQLField) -> GraphQLObjectType:
    type_ = get_named_type(field.type)
    if not isinstance(type_, GraphQLObjectType):  # pragma: no cover - roles guarantee it
        raise TypeError(f"{type_} is not an object type")
    return type_
