"""dmypy's ``Server`` without its crash on namespace packages when it starts from a fine-grained
cache (mypy issue 20519: ``KeyError: 'tests'``, since a generated project's ``tests`` folders
have no ``__init__.py``). Each crash costs a new server, about 1.5 s.

The fix is the one proposed upstream: follow only the dependencies and ancestors that are in
the module graph. mypy ships ``dmypy_server`` compiled, and compiled code calls the compiled
method, so the module's own source is loaded as a separate, interpreted module and patched
there (its work is in other, still compiled, modules); ``apiseed.matrix.mypy`` then starts
that class.
"""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

TESTED = {"mypy": ">=2.4.1,<2.5"}


def missing() -> list[str]:
    module = _interpreted()
    if module is None:
        return ["mypy/dmypy_server.py"]
    server = getattr(module, "Server", None)
    found = callable(getattr(server, "find_reachable_changed_modules", None))
    return [] if found else ["Server.find_reachable_changed_modules"]


def apply(scratch: Path) -> None:
    from mypy.modulefinder import BuildSource

    import apiseed.matrix.mypy

    module = _interpreted()
    assert module is not None  # activate() checked missing() first
    server: Any = module.Server

    def find_reachable_changed_modules(
        self: Any, roots: list[Any], graph: Any, seen: set[str], changed_paths: Any
    ) -> tuple[list[tuple[str, str]], list[Any]]:
        changed: list[tuple[str, str]] = []
        new_files: list[Any] = []
        worklist = roots.copy()
        seen.update(root.module for root in worklist)
        while worklist:
            following = worklist.pop()
            if following.module not in seen:
                seen.add(following.module)
                new_files.append(following)
            if following.path in changed_paths:
                changed.append((following.module, following.path))
            elif following.module in graph:
                state = graph[following.module]
                for dependency in state.dependencies + (state.ancestors or []):
                    if dependency not in seen and dependency in graph:  # the fix: "in graph"
                        seen.add(dependency)
                        node = graph[dependency]
                        worklist.append(BuildSource(node.path, node.id, followed=True))
        return changed, new_files

    server.find_reachable_changed_modules = find_reachable_changed_modules
    apiseed.matrix.mypy.SERVER_CLASS = server


_loaded: list[ModuleType | None] = []


def _interpreted() -> ModuleType | None:
    """``mypy.dmypy_server`` loaded again from its source, once per process; None if this mypy
    ships no source for it."""
    if not _loaded:
        import mypy.dmypy_server as compiled

        source = Path(compiled.__file__ or "").with_name("dmypy_server.py")
        spec = importlib.util.spec_from_file_location("_apiseed_dmypy_server", source)
        module = None
        if spec is not None and spec.loader is not None and source.is_file():
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        _loaded.append(module)
    return _loaded[0]
