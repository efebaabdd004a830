"""Jinja compiles each file and path name of the template again on every ``run_copy``: here
the compiled code is kept per (syntax settings, source) and reused for the whole run.

Worth about 0.35 core-s per rendered variant (``docs/benchmarks.md``); the trees are Copier's
own, byte for byte (``tests/test_check.py``).
"""

from typing import Any

TESTED = {"jinja2": ">=3.1.6,<3.2"}


def missing() -> list[str]:
    import jinja2

    return [] if callable(getattr(jinja2.Environment, "compile", None)) else ["Environment.compile"]


def apply() -> None:
    import jinja2

    compile_source: Any = jinja2.Environment.compile
    compiled: dict[tuple[Any, ...], Any] = {}

    def compile_once(
        environment: jinja2.Environment,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):  # an already parsed template: nothing to key it by
            return compile_source(environment, source, name, filename, raw, defer_init)
        key = (_syntax(environment), source, name, filename, raw, defer_init)
        if key not in compiled:
            compiled[key] = compile_source(environment, source, name, filename, raw, defer_init)
        return compiled[key]

    jinja2.Environment.compile = compile_once  # type: ignore[method-assign,assignment]


def _syntax(environment: Any) -> tuple[Any, ...]:
    """Everything in a Jinja environment that changes the code it compiles."""
    return (
        type(environment),
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        tuple(sorted(environment.extensions)),
        environment.optimized,
        environment.finalize,
        environment.autoescape,
        environment.is_async,
        frozenset(environment.filters),
        frozenset(environment.tests),
    )
