"""Engines by kind, discovered through the `flexgrid.engines` entry points.

An explicit object rather than module state: tests build their own registry with test-only
engines, and a worker serves exactly the kinds its registry holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from engines.base import AnyEngine, Engine
from engines.context import EngineContext, UsesContext

ENTRY_POINT_GROUP = "flexgrid.engines"


class UnknownEngineError(LookupError):
    def __init__(self, kind: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.known = sorted(known)
        super().__init__(
            f"no engine of kind {kind!r}; known kinds: {', '.join(self.known) or 'none'}. "
            f"Engines come from the {ENTRY_POINT_GROUP!r} entry points: install the package "
            "that provides it (pip install -e . refreshes this project's entry points)"
        )


class EngineLoadError(RuntimeError):
    pass


class Registry:
    def __init__(self, engines: Iterable[AnyEngine] = ()) -> None:
        self._engines: dict[str, AnyEngine] = {}
        for engine in engines:
            self.register(engine)

    @classmethod
    def from_entry_points(
        cls, kinds: Iterable[str] | None = None, group: str = ENTRY_POINT_GROUP
    ) -> Registry:
        """The engines the installed distributions declare (only `kinds`, if given: a worker
        does not import the libraries of engines it does not serve). An entry point names a
        class or a factory called without arguments; its `kind` must equal its name."""
        wanted = None if kinds is None else set(kinds)
        registry = cls()
        declared = entry_points(group=group)
        for ep in declared:
            if wanted is not None and ep.name not in wanted:
                continue
            try:
                engine = ep.load()()
            except Exception as exc:
                raise EngineLoadError(
                    f"engine entry point {ep.name} = {ep.value!r}: {exc}"
                ) from exc
            if not isinstance(engine, Engine):
                raise EngineLoadError(
                    f"engine entry point {ep.name} = {ep.value!r} does not satisfy engines.base.Engine"
                )
            if engine.kind != ep.name:
                raise EngineLoadError(
                    f"engine entry point {ep.name!r} loads an engine of kind {engine.kind!r}: "
                    "the entry point name must be the kind"
                )
            registry.register(engine)
        missing = sorted((wanted or set()) - set(registry.kinds()))
        if missing:
            raise UnknownEngineError(missing[0], declared.names)
        return registry

    def register(self, engine: AnyEngine) -> None:
        if engine.kind in self._engines:
            raise ValueError(f"engine kind {engine.kind!r} registered twice")
        self._engines[engine.kind] = engine

    def get(self, kind: str) -> AnyEngine:
        try:
            return self._engines[kind]
        except KeyError:
            raise UnknownEngineError(kind, self._engines) from None

    def with_context(self, context: EngineContext) -> Registry:
        """The same engines, those that ask services during a run given the host's context."""
        return Registry(e.with_context(context) if isinstance(e, UsesContext) else e for e in self)

    def kinds(self) -> list[str]:
        return sorted(self._engines)

    def __contains__(self, kind: object) -> bool:
        return kind in self._engines

    def __iter__(self) -> Iterator[AnyEngine]:
        return iter(self._engines.values())
