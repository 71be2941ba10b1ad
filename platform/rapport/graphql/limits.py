"""Operation limits (depth, cost, aliases, size) and the persisted-operation allow-list.

The depth, cost and alias limits are graphql-core validation rules, so they run once per query
text together with the standard rules and their verdict is cached with the parsed document
(:mod:`rapport.graphql.prepared`): a repeated query pays nothing for them. The size limits are
checked before and while parsing (``max_tokens``), so an oversized text is never fully parsed.

Cost model: every selected field costs 1 plus its sub-selection's cost; a field with ``first``
or ``last`` arguments (a connection) multiplies its sub-selection's cost by its page size — the
literal value, the variable's default, or the largest page (:data:`MAX_PAGE_SIZE`) when a
variable without default decides it at run time (validation is cached per text, so it must
assume the worst), and :data:`DEFAULT_PAGE_SIZE` when neither argument is given. Nested
connections therefore multiply, which is what makes over-wide queries expensive.

Every refusal carries a stable code (``QUERY_TOO_DEEP``, ``QUERY_TOO_COSTLY``,
``TOO_MANY_ALIASES``, ``QUERY_TOO_LARGE``, ``PERSISTED_QUERY_NOT_FOUND``) and names the limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    specified_rules,
)

from rapport.errors import (
    PersistedQueryNotFound,
    QueryTooCostly,
    QueryTooDeep,
    QueryTooLarge,
    RapportError,
    TooManyAliases,
)
from rapport.settings import GraphQLLimitSettings
from rapport.sql.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = [
    "PersistedOperations",
    "check_size",
    "limit_rules",
    "load_persisted_operations",
    "sha256_hex",
    "too_many_tokens",
    "validation_rules",
]

_PAGE_ARGUMENTS = ("first", "last")
_TOKENS_MARK = "Document contains more than"


def _error(error: RapportError, node: Any = None) -> GraphQLError:
    return GraphQLError(error.message, node, extensions=error.extensions())


def check_size(query: str, limits: GraphQLLimitSettings) -> GraphQLError | None:
    """The QUERY_TOO_LARGE error for a text over the byte limit (checked before parsing)."""
    size = len(query.encode())
    if size <= limits.max_bytes:
        return None
    return _error(
        QueryTooLarge(
            f"The operation is {size} bytes long; the limit is {limits.max_bytes}.",
            hint="Send a shorter operation: pass data in variables, split large batches.",
            details={"limit": limits.max_bytes},
        )
    )


def too_many_tokens(error: GraphQLError, limits: GraphQLLimitSettings) -> GraphQLError | None:
    """graphql-core's token-limit syntax error restated as QUERY_TOO_LARGE (else None)."""
    if _TOKENS_MARK not in error.message:
        return None
    return _error(
        QueryTooLarge(
            f"The operation has more than {limits.max_tokens} tokens; the limit is "
            f"{limits.max_tokens}.",
            hint="Send a shorter operation: fewer fields, aliases or literal values.",
            details={"limit": limits.max_tokens},
        )
    )


# --- validation rules ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Measure:
    depth: int
    cost: int
    aliases: int


class _Walker:
    """Measures one operation: depth, cost and aliases, following fragments (cycle-safe)."""

    def __init__(self, context: ValidationContext, operation: OperationDefinitionNode) -> None:
        self.context = context
        self.schema: GraphQLSchema = context.schema
        self.defaults: dict[str, int] = {}
        for definition in operation.variable_definitions or ():
            if isinstance(definition.default_value, IntValueNode):
                self.defaults[definition.variable.name.value] = int(definition.default_value.value)
        self.aliases = 0

    def root(self, operation: OperationDefinitionNode) -> _Measure:
        root_type = self.schema.get_root_type(operation.operation)
        depth, cost = self.selection(operation.selection_set, root_type, frozenset())
        return _Measure(depth=depth, cost=cost, aliases=self.aliases)

    def selection(
        self, selection_set: SelectionSetNode, parent: Any, visiting: frozenset[str]
    ) -> tuple[int, int]:
        depth = 0
        cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    self.aliases += 1
                definition = _field(parent, selection.name.value)
                child_depth, child_cost = 0, 0
                if selection.selection_set is not None:
                    child_type = get_named_type(definition.type) if definition else None
                    child_depth, child_cost = self.selection(
                        selection.selection_set, child_type, visiting
                    )
                multiplier = self.page_size(selection, definition)
                depth = max(depth, 1 + child_depth)
                cost += 1 + multiplier * child_cost
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                fragment_type = self.schema.get_type(condition.name.value) if condition else parent
                inner_depth, inner_cost = self.selection(
                    selection.selection_set, fragment_type, visiting
                )
                depth = max(depth, inner_depth)
                cost += inner_cost
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in visiting:
                    continue  # unknown or cyclic: the standard rules report it
                fragment_type = self.schema.get_type(fragment.type_condition.name.value)
                inner_depth, inner_cost = self.selection(
                    fragment.selection_set, fragment_type, visiting | {name}
                )
                depth = max(depth, inner_depth)
                cost += inner_cost
        return depth, cost

    def page_size(self, node: FieldNode, definition: GraphQLField | None) -> int:
        if definition is None or not any(a in definition.args for a in _PAGE_ARGUMENTS):
            return 1
        for argument in node.arguments or ():
            if argument.name.value not in _PAGE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 1)
            if isinstance(value, VariableNode):
                return max(self.defaults.get(value.name.value, MAX_PAGE_SIZE), 1)
        return DEFAULT_PAGE_SIZE


def _field(parent: Any, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


@cache
def _limit_rule(limits: GraphQLLimitSettings) -> type[ASTValidationRule]:
    class OperationLimits(ASTValidationRule):
        """Refuses operations over the depth, cost or alias limit."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            assert isinstance(self.context, ValidationContext)  # validate() passes this kind
            measure = _Walker(self.context, node).root(node)
            if measure.depth > limits.max_depth:
                self.report_error(
                    _error(
                        QueryTooDeep(
                            f"The operation nests fields {measure.depth} deep; the limit is "
                            f"{limits.max_depth}.",
                            hint="Select fewer nested relations; fetch deeper data in a "
                            "second request.",
                            details={"limit": limits.max_depth, "depth": measure.depth},
                        ),
                        node,
                    )
                )
            if measure.cost > limits.max_cost:
                self.report_error(
                    _error(
                        QueryTooCostly(
                            f"The operation's estimated cost is {measure.cost}; the limit is "
                            f"{limits.max_cost} (page sizes multiply nested selections).",
                            hint="Ask for smaller pages (`first`) on nested connections, or "
                            "fewer fields per record.",
                            details={"limit": limits.max_cost, "cost": measure.cost},
                        ),
                        node,
                    )
                )
            if measure.aliases > limits.max_aliases:
                self.report_error(
                    _error(
                        TooManyAliases(
                            f"The operation uses {measure.aliases} aliases; the limit is "
                            f"{limits.max_aliases}.",
                            hint="Batch with list arguments (e.g. a filter on ids) instead of "
                            "aliased copies of one field.",
                            details={"limit": limits.max_aliases, "aliases": measure.aliases},
                        ),
                        node,
                    )
                )

    return OperationLimits


@cache
def validation_rules(limits: GraphQLLimitSettings) -> tuple[type[ASTValidationRule], ...]:
    """The standard rules plus the limits (and no introspection when it is switched off)."""
    rules: list[type[ASTValidationRule]] = [*specified_rules, _limit_rule(limits)]
    if limits.introspection is False:  # None (undecided) allows it, like the default
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def limit_rules(limits: GraphQLLimitSettings) -> tuple[type[ASTValidationRule], ...]:
    """Only the limit rules, for a schema that runs the standard rules itself (strawberry)."""
    return (_limit_rule(limits),)


# --- persisted operations -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersistedOperations:
    """Allowed operation texts keyed by the hex SHA-256 of their UTF-8 text."""

    by_hash: Mapping[str, str]

    def resolve(self, params: Mapping[str, Any]) -> str:
        """The text to run for a request's ``query`` / ``extensions.persistedQuery``.

        Raises PERSISTED_QUERY_NOT_FOUND when the hash (or the sent text's hash) is unknown,
        or when a sent text does not match the hash sent with it.
        """
        query = params.get("query")
        sent_hash = _sent_hash(params.get("extensions"))
        if isinstance(query, str) and query.strip():
            text_hash = sha256_hex(query)
            if sent_hash is not None and sent_hash != text_hash:
                raise _not_found("The query text does not match its persistedQuery.sha256Hash.")
            if text_hash not in self.by_hash:
                raise _not_found(
                    "This server runs only persisted operations, and this one is not among them."
                )
            return query
        if sent_hash is None:
            raise _not_found("The request has neither a query nor a persistedQuery hash.")
        found = self.by_hash.get(sent_hash)
        if found is None:
            raise _not_found(f"No persisted operation has the hash {sent_hash}.")
        return found


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sent_hash(extensions: Any) -> str | None:
    if not isinstance(extensions, Mapping):
        return None
    persisted = extensions.get("persistedQuery")
    if not isinstance(persisted, Mapping):
        return None
    value = persisted.get("sha256Hash")
    return value.lower() if isinstance(value, str) else None


def _not_found(message: str) -> PersistedQueryNotFound:
    return PersistedQueryNotFound(
        message,
        hint="Add the operation to the allow-list (RAPPORT_PERSISTED_OPERATIONS) and deploy it, "
        "or send a listed operation's text or sha256Hash.",
    )


def load_persisted_operations(path: Path) -> PersistedOperations:
    """Read the allow-list: a JSON object ``{sha256: text}`` or list of texts, or a folder of
    ``*.graphql`` files. Every stored hash is checked against its text."""
    from rapport.errors import ConfigurationError  # only start-up needs it

    texts: list[str] = []
    if path.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in sorted(path.glob("*.graphql"))]
    elif path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"RAPPORT_PERSISTED_OPERATIONS file {path} is not JSON: {exc}.",
                hint='Write {"<sha256>": "query text", ...} or ["query text", ...].',
            ) from None
        if isinstance(raw, Mapping):
            for key, text in raw.items():
                if not isinstance(text, str) or sha256_hex(text) != str(key).lower():
                    raise ConfigurationError(
                        f"Persisted operation {key!r} in {path} does not hash to its key.",
                        hint="Key each text by the hex SHA-256 of its exact UTF-8 text.",
                    )
                texts.append(text)
        elif isinstance(raw, Sequence) and all(isinstance(t, str) for t in raw):
            texts = list(raw)
        else:
            raise ConfigurationError(
                f"RAPPORT_PERSISTED_OPERATIONS file {path} is neither an object nor a list.",
                hint='Write {"<sha256>": "query text", ...} or ["query text", ...].',
            )
    else:
        raise ConfigurationError(
            f"RAPPORT_PERSISTED_OPERATIONS points to {path}, which does not exist.",
            hint="Point it at a JSON file or a folder of .graphql files.",
        )
    return PersistedOperations(MappingProxyType({sha256_hex(t): t for t in texts}))
