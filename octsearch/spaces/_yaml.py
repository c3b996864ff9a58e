"""``yaml.safe_load`` that refuses duplicate keys (PyYAML silently keeps the last one) and bounds
the nesting depth and the expanded size of a document.

PyYAML's composer, the constructor and pydantic all recurse once per level of nesting, so a file
nested a few hundred levels deep would end in a RecursionError; aliases can also nest a document
deeper than its text shows, refer to themselves, or expand exponentially ("billion laughs").
Every limit is checked while composing, before a level deeper is entered.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 64  # levels of lists and mappings; a space file needs about 6
MAX_NODES = 100_000  # values after expanding aliases; a space file needs a few hundred
_DEPTH_SHOWN = 512  # deepest level a message counts to (PyYAML's scanner slows quadratically with depth)


class DuplicateKeyError(yaml.YAMLError):
    pass


class DocumentLimitError(yaml.MarkedYAMLError):
    """A document nested deeper, or expanding larger, than the limits above."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _UniqueKeyLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        # id(node) -> (depth, size) of the node with its aliases expanded; absent while composing
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        mark = self.peek_event().start_mark
        is_alias = self.check_event(yaml.AliasEvent)
        level = int(self.check_event(yaml.CollectionStartEvent))  # only lists and mappings recurse
        self._depth += level
        if self._depth > MAX_DEPTH:
            raise DocumentLimitError(_too_deep(self._depth_of_rest()), mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= level
        if is_alias:
            if id(node) not in self._measured:  # the anchored node is still being composed
                raise DocumentLimitError("an alias refers to the list or mapping that contains it", mark)
        else:
            self._measured[id(node)] = self._measure(node, mark)
        depth, _ = self._measured[id(node)]
        if self._depth + depth > MAX_DEPTH:  # an alias that expands below this level
            raise DocumentLimitError(_too_deep(self._depth + depth), mark)
        return node

    def _depth_of_rest(self) -> int:
        """The deepest level of the rest of the document (up to ``_DEPTH_SHOWN``), read from the
        parser's events (the parser keeps a stack, it does not recurse), so the message shows the
        file's real depth."""
        depth = deepest = self._depth - 1
        try:
            while deepest < _DEPTH_SHOWN and not self.check_event(yaml.DocumentEndEvent, yaml.StreamEndEvent):
                event = self.get_event()
                depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
                deepest = max(deepest, depth)
        except yaml.YAMLError:  # the rest is not valid YAML: report the depth reached so far
            pass
        return deepest

    def _measure(self, node: yaml.Node, mark: yaml.Mark) -> tuple[int, int]:
        if isinstance(node, yaml.ScalarNode):
            return 0, 1
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        measures = [self._measured[id(c)] for c in children]
        depth = 1 + max((d for d, _ in measures), default=0)
        size = 1 + sum(s for _, s in measures)
        if size > MAX_NODES:
            raise DocumentLimitError(f"more than {MAX_NODES:,} values with aliases expanded (the limit)", mark)
        return depth, size

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise DuplicateKeyError(f"key {key!r} appears twice (line {key_node.start_mark.line + 1})")
            except TypeError:  # an unhashable key (a list or mapping): SafeConstructor's own error
                break
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _too_deep(depth: int) -> str:
    levels = f"more than {_DEPTH_SHOWN}" if depth >= _DEPTH_SHOWN else str(depth)
    return f"lists and mappings nested {levels} levels deep, over the limit of {MAX_DEPTH} levels"


def safe_load(text: str) -> Any:
    """Parse YAML with the safe loader (plain data only), rejecting duplicate keys and documents
    nested deeper than :data:`MAX_DEPTH` or expanding to more than :data:`MAX_NODES` values."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
