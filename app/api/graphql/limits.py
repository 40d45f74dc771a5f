"""Limits that refuse an abusive document before anything runs: its size, tokens, depth and
aliases, and how many objects it could return (``first`` multiplied down nested lists,
fragments and aliases included; scalars are part of their object). Refusals are 400 errors with
``extensions.code = query-too-complex``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from app.api.graphql.relay import DEFAULT_FIRST
from app.config import Settings

TOO_COMPLEX = {"code": "query-too-complex"}
Composite = GraphQLObjectType | GraphQLInterfaceType


def _first(node: FieldNode, variables: Mapping[str, Any], default: int) -> int:
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return given if isinstance(given, int) else default
    return default


class _Cost:
    """The items a document could return. Fragment costs are memoised per fragment, so a
    document that spreads fragments into fragments is measured in linear time, and a cycle of
    fragments (refused by GraphQL's own rules) does not loop."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        ceiling: int,
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.ceiling = ceiling
        self.memo: dict[str, int] = {}

    def of(self, selection: SelectionSetNode | None, parent: Any, path: frozenset[str]) -> int:
        if selection is None or not isinstance(parent, Composite):
            return 0
        total = 0
        for node in selection.selections:
            if isinstance(node, FieldNode):
                field = parent.fields.get(node.name.value)
                if field is None:
                    continue  # unknown fields are reported by validation
                if node.selection_set is None:
                    continue  # a scalar is part of its object, not an item of its own
                many = _first(node, self.variables, DEFAULT_FIRST) if "first" in field.args else 1
                child = get_named_type(field.type)
                total += max(many, 0) * (1 + self.of(node.selection_set, child, path))
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.of(node.selection_set, target, path)
            elif isinstance(node, FragmentSpreadNode):
                total += self._spread(node.name.value, path)
            if total > self.ceiling:
                return total  # already too much: no need to measure the rest
        return total

    def _spread(self, name: str, path: frozenset[str]) -> int:
        if name in path or name not in self.fragments:
            return 0
        if name not in self.memo:
            fragment = self.fragments[name]
            target = self.schema.get_type(fragment.type_condition.name.value)
            self.memo[name] = self.of(fragment.selection_set, target, path | {name})
        return self.memo[name]


def node_budget_rule(variables: Mapping[str, Any], max_nodes: int) -> type[ValidationRule]:
    class NodeBudget(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            cost = _Cost(context.schema, fragments, variables, max_nodes)
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                root = (
                    context.schema.mutation_type
                    if definition.operation is OperationType.MUTATION
                    else context.schema.query_type
                )
                items = cost.of(definition.selection_set, root, frozenset())
                if items > max_nodes:
                    context.report_error(
                        GraphQLError(
                            f"the query could return more than {max_nodes:,} items; ask for "
                            "smaller pages (first) or fewer nested lists",
                            extensions=TOO_COMPLEX,
                        )
                    )

    return NodeBudget


def size_rule(query: str | None, max_bytes: int) -> type[ValidationRule]:
    class QuerySize(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            size = len((query or "").encode())
            if size > max_bytes:
                context.report_error(
                    GraphQLError(
                        f"the query is {size:,} bytes; the limit is {max_bytes:,}",
                        extensions=TOO_COMPLEX,
                    )
                )

    return QuerySize


class RequestLimits(SchemaExtension):
    """Adds the rules that need the request itself (its text and variables)."""

    def __init__(self, *, max_nodes: int, max_query_bytes: int) -> None:
        self.max_nodes = max_nodes
        self.max_query_bytes = max_query_bytes

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (
            *context.validation_rules,
            size_rule(context.query, self.max_query_bytes),
            node_budget_rule(context.variables or {}, self.max_nodes),
        )
        yield


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Every limit, as configured (factories: each request gets fresh extensions)."""
    return [
        lambda: RequestLimits(
            max_nodes=settings.graphql_max_nodes, max_query_bytes=settings.graphql_max_query_bytes
        ),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
    ]
