"""Limits that refuse an abusive document before anything runs: its size, tokens, depth and
aliases, and how many objects it could return (``first`` multiplied down nested lists,
fragments and aliases included; scalars are part of their object). Refusals are 400 errors with
``extensions.code = query-too-complex``.

Measuring takes time linear in the document's text. A fragment is measured once, whatever
the number of times it is spread: a document that spreads fragments into fragments describes an
exponential number of fields in a few hundred tokens, and expanding it — as a naive walker does —
would make the refusal itself the denial of service. Fragments are measured in dependency order
(no recursion from fragment to fragment), so a long chain of them cannot exhaust the stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from app.api.graphql.relay import DEFAULT_FIRST
from app.config import Settings

TOO_COMPLEX = {"code": "query-too-complex"}
Composite = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True)
class Measure:
    """What a selection set asks for. ``depth`` counts nested fields that have a selection of
    their own (introspection fields excepted: GraphiQL's own query is deep). The objects it
    could return are ``items`` plus ``per_page`` times the page size of the connection it is
    the selection of: a connection's ``nodes`` and ``edges`` are ``first`` objects each, the
    connection itself one. Counts are capped just above their limits (an amplifying document
    would otherwise make numbers of thousands of digits)."""

    depth: int = 0
    aliases: int = 0
    items: int = 0
    per_page: int = 0

    @property
    def total(self) -> int:
        """The objects when this is not a connection's selection (or the page is one)."""
        return self.items + self.per_page


NOTHING = Measure()


def _int_value(node: Any, variables: Mapping[str, Any]) -> int | None:
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, VariableNode):
        given = variables.get(node.name.value)
        return given if isinstance(given, int) and not isinstance(given, bool) else None
    return None


def _length(node: Any, variables: Mapping[str, Any]) -> int | None:
    if isinstance(node, ListValueNode):
        return len(node.values)
    if isinstance(node, VariableNode):
        given = variables.get(node.name.value)
        return len(given) if isinstance(given, list) else None
    return None


def _argument(node: FieldNode, name: str) -> Any:
    return next((a.value for a in node.arguments or () if a.name.value == name), None)


def _spreads(selection: SelectionSetNode) -> Iterator[str]:
    """The names of the fragments a selection set spreads (directly or in nested fields)."""
    pending = [selection]
    while pending:
        for node in pending.pop().selections:
            if isinstance(node, FragmentSpreadNode):
                yield node.name.value
            elif isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set:
                pending.append(node.selection_set)


def dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after the fragments it spreads (an iterative depth-first walk; a
    cycle, refused by GraphQL's own rules, is simply cut)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(list(_spreads(fragments[root].selection_set))))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child in fragments and child not in seen:
                seen.add(child)
                stack.append((child, iter(list(_spreads(fragments[child].selection_set)))))
    return order


class Measurer:
    """Measures the operations of one document (for one set of variables)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        caps: Measure,
    ) -> None:
        self.schema, self.variables, self.caps = schema, variables, caps
        self.fragments: dict[str, Measure] = {}
        for name in dependency_order(fragments):
            fragment = fragments[name]
            target = schema.get_type(fragment.type_condition.name.value)
            self.fragments[name] = self.of(fragment.selection_set, target)

    def _objects(self, node: FieldNode, field: GraphQLField, child: Measure) -> tuple[int, int]:
        """The objects one occurrence of a field returns, as (items, per page)."""
        if "first" in field.args:  # a connection: one object, and a page of them inside
            first = _int_value(_argument(node, "first"), self.variables)
            page = max(first if first is not None else DEFAULT_FIRST, 0)
            return 1 + child.items + page * child.per_page, 0
        if "ids" in field.args:  # a lookup: an object per id
            count = _length(_argument(node, "ids"), self.variables)
            return (1 if count is None else count) * (1 + child.total), 0
        if is_list_type(get_nullable_type(field.type)):
            # A page of a connection (nodes, edges), or a short list of an object (a goal's
            # milestones), which counts as one.
            return 0, 1 + child.total
        return 1 + child.total, 0

    def of(self, selection: SelectionSetNode, parent: GraphQLNamedType | None) -> Measure:
        depth = aliases = items = per_page = 0
        for node in selection.selections:
            if isinstance(node, FieldNode):
                aliases += node.alias is not None
                if node.selection_set is None:
                    continue  # a scalar is part of its object, not an item of its own
                field = (
                    parent.fields.get(node.name.value) if isinstance(parent, Composite) else None
                )
                child = self.of(
                    node.selection_set, None if field is None else get_named_type(field.type)
                )
                aliases += child.aliases
                if not node.name.value.startswith("__"):
                    depth = max(depth, 1 + child.depth)
                if field is not None:  # unknown fields are reported by validation
                    more, more_per_page = self._objects(node, field, child)
                    items += more
                    per_page += more_per_page
                continue
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                found = self.of(node.selection_set, target)
            elif isinstance(node, FragmentSpreadNode):
                # Measured already; an unknown fragment or one in a cycle counts for nothing
                # here (GraphQL's own rules refuse the document).
                found = self.fragments.get(node.name.value, NOTHING)
            else:  # pragma: no cover - there is no other kind of selection
                continue
            depth = max(depth, found.depth)
            aliases += found.aliases
            items += found.items
            per_page += found.per_page
        caps = self.caps
        return Measure(
            min(depth, caps.depth),
            min(aliases, caps.aliases),
            min(items, caps.items),
            min(per_page, caps.items),
        )


def _defaults(operation: OperationDefinitionNode) -> tuple[tuple[str, Any], ...]:
    """The page sizes (integers) and id lists (their lengths) an operation's variables default
    to, as a key."""
    found: list[tuple[str, Any]] = []
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if isinstance(default, IntValueNode):
            found.append((definition.variable.name.value, int(default.value)))
        elif isinstance(default, ListValueNode):
            found.append((definition.variable.name.value, (None,) * len(default.values)))
    return tuple(sorted(found))


def document_rule(
    query: str | None,
    variables: Mapping[str, Any],
    operation_name: str | None,
    settings: Settings,
) -> type[ValidationRule]:
    """The size, depth, alias and item limits as one validation rule."""
    max_bytes, max_depth = settings.graphql_max_query_bytes, settings.graphql_max_depth
    max_aliases, max_nodes = settings.graphql_max_aliases, settings.graphql_max_nodes

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            size = len((query or "").encode())
            if size > max_bytes:
                self.refuse(f"the query is {size:,} bytes; the limit is {max_bytes:,}")
                return  # it was parsed within the token limit, but measure no further
            definitions = context.document.definitions
            fragments = {
                d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
            }
            operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
            if operation_name is not None:
                # Only the named operation runs (an unknown name is refused at execution).
                operations = [o for o in operations if o.name and o.name.value == operation_name]
            caps = Measure(max_depth + 1, max_aliases + 1, max_nodes + 1)
            # Operations whose variables default alike share their fragments' measures: many
            # operations spreading the same fragments cost no more than one.
            measurers: dict[tuple[tuple[str, Any], ...], Measurer] = {}
            depth = aliases = items = 0
            for operation in operations:
                defaults = _defaults(operation)
                if defaults not in measurers:
                    given = {k: list(v) if isinstance(v, tuple) else v for k, v in defaults}
                    given.update(variables)
                    measurers[defaults] = Measurer(context.schema, fragments, given, caps)
                root = (
                    context.schema.mutation_type
                    if operation.operation is OperationType.MUTATION
                    else context.schema.query_type
                )
                found = measurers[defaults].of(operation.selection_set, root)
                depth = max(depth, found.depth)
                aliases += found.aliases
                items = max(items, found.total)  # one operation of the document runs
            if depth > max_depth:
                self.refuse(f"the query is nested more than {max_depth} levels deep")
            if aliases > max_aliases:
                self.refuse(f"the query uses more than {max_aliases} aliases")
            if items > max_nodes:
                self.refuse(
                    f"the query could return more than {max_nodes:,} items; ask for smaller "
                    "pages (first) or fewer nested lists"
                )

        def refuse(self, message: str) -> None:
            self.context.report_error(GraphQLError(message, extensions=TOO_COMPLEX))

    return DocumentLimits


class RequestLimits(SchemaExtension):
    """Adds the rules that need the request itself (its text and variables)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (
            *context.validation_rules,
            document_rule(
                context.query, context.variables or {}, context.operation_name, self.settings
            ),
        )
        yield


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Every limit, as configured (factories: each request gets fresh extensions)."""
    return [
        lambda: RequestLimits(settings),
        # Parsing stops at the token limit: the document is never built beyond it.
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
    ]
