"""A long-lived ``apiseed check`` worker process.

It imports the heavy libraries once, then reads tasks (pickled ``(name, run, variant)``) from
stdin and writes each result as a pickle to stdout. Started by ``apiseed.matrix.pool`` with
``python -c`` so that nothing of the caller's ``__main__`` runs again here.
"""

import contextlib
import gc
import os
import pickle
import shutil
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# Imported early, once per worker, so that no variant pays for them.
import apiseed.project.render
import apiseed.template  # noqa: F401
from apiseed.matrix import deps, steps
from apiseed.matrix.declaration import matrix
from apiseed.matrix.mypy import MypyServer
from apiseed.matrix.steps import Failure, Timings, timed
from apiseed.matrix.variants import Variant

_WARM_MODULES = (
    "_pytest.debugging",
    "_pytest.unittest",
    "alembic",
    "alembic.command",
    "alembic.config",
    "argon2",
    "click",
    "copier",
    "email_validator",
    "fastapi",
    "fastapi.middleware.cors",
    "fastapi.middleware.gzip",
    "fastapi.middleware.trustedhost",
    "fastapi.openapi.docs",
    "fastapi.security",
    "fastapi.staticfiles",
    "fastapi.testclient",
    "getpass",
    "hypothesis",
    "hatchling.builders.wheel",
    "httpx2",
    "jwt",
    "logging.config",
    "mypy.api",
    "mypy.build",
    "mypy.dmypy_server",
    "pdb",
    "psycopg",
    "pwdlib",
    "pwdlib.hashers.argon2",
    "pydantic",
    "pydantic.mypy",
    "pydantic.v1",
    "schemathesis",
    "schemathesis.openapi",
    "pydantic_settings",
    "pythonjsonlogger.json",
    "pytest",
    "readline",
    "sqlalchemy",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.orm",
    "sqlite3",
    "unittest",
    "uvicorn",
    "uvicorn.main",
    "uvicorn.supervisors",
)


@dataclass(frozen=True)
class Run:
    """What every worker needs to know about the run."""

    root: Path
    template: Path
    postgres_url: str | None
    mypy_seed: Path | None = None  # a fine-grained mypy cache from an earlier run
    fuzz: bool = False  # add the fuzz step after the tests

    @property
    def trees(self) -> Path:
        return self.root / "trees"


Result = tuple[Timings, Failure | None]


def render(run: Run, variant: Variant) -> Result:
    tree = run.trees / variant.id
    timings = Timings()
    failure = timed(timings, "render", lambda: steps.render(run.template, tree, variant))
    if failure is None:
        declared = matrix(run.template)
        failure = timed(timings, "files", lambda: steps.check_files(tree, variant, declared))
    return timings, failure


def verify(run: Run, variant: Variant) -> Result:
    tree = run.trees / variant.id
    work = run.root / "work" / variant.id
    work.mkdir(parents=True)
    server = _mypy_server(run)
    declared = matrix(run.template)
    package = steps.package_of(tree, declared)
    rewrites = run.root / "rewrites"

    def tests(step: str, *args: str) -> Callable[[], None]:
        def action() -> None:
            env = steps.test_environment(declared, variant, package, run.postgres_url)
            if step == "fuzz":
                env = steps.fuzz_environment(declared, env, package)
            log = work / f"{step}.log"
            version = variant.answers.get(declared.python_question or "")
            if version is None:
                steps.run_tests(
                    tree, package, env, work / step, log, rewrites, step=step, args=args
                )
            else:  # another Python: a virtual environment of that version, made for it
                python = steps.python_for(str(version))
                steps.run_tests_in_venv(tree, python, env, work / "venv", log, args)

        return action

    plan: list[tuple[str, Callable[[], None]]] = [
        ("deps", lambda: steps.check_dependencies(tree, package, declared)),
        ("mypy", lambda: steps.run_mypy(tree, server, work / "mypy.log")),
        ("tests", tests("tests", *(f"--ignore={path}" for path in declared.test_ignore))),
    ]
    if run.fuzz and declared.fuzz_test:
        plan.append(("fuzz", tests("fuzz", declared.fuzz_test)))
    plan.append(("wheel", lambda: steps.build_wheel(tree, work / "dist", package)))
    timings = Timings()
    for step, action in plan:
        failure = timed(timings, step, action)
        if step == "mypy":  # the mypy server is not this process's child: add its share
            timings.cpu[step] += server.server_cpu
        if failure is not None:
            return timings, failure
    shutil.rmtree(work, ignore_errors=True)
    return timings, None


_servers: dict[Path, MypyServer] = {}


def _mypy_server(run: Run) -> MypyServer:
    """This worker's mypy server for the run, kept from one variant to the next."""
    home = run.root / "mypy" / str(os.getpid())
    if home not in _servers:
        for server in _servers.values():
            server.close()
        _servers.clear()
        _servers[home] = MypyServer(home, run.mypy_seed)
    return _servers[home]


TASKS: dict[str, Callable[[Run, Variant], Result]] = {"render": render, "verify": verify}


def warm() -> None:
    """Import what every variant needs once, so each forked child starts warm."""
    import importlib
    import warnings
    from importlib.metadata import entry_points

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in _WARM_MODULES:
            try:
                importlib.import_module(module)
            except ImportError:  # not installed here: that variant's child imports it cold
                continue
        for plugin in entry_points(group="pytest11"):
            try:
                plugin.load()
            except Exception:  # a broken plugin is the test run's business, not the warm-up's
                continue
    deps.distributions()  # importlib.metadata's module map, read once per worker
    _speed_up_copier()
    gc.collect()
    gc.freeze()  # children's garbage collections then skip everything imported here


def _speed_up_copier() -> None:
    """Shortcuts for rendering hundreds of variants of one template in one process; each one
    leaves Copier's output as it was (``tests/test_check.py`` compares the trees).

    * Jinja compiles every file and path of the template again on each ``run_copy``; the
      compiled code depends only on the source and the environment's syntax settings, so it is
      kept per (settings, source) and reused.
    * Copier asks git about every rendered file (``git config core.fileMode``) to keep a git
      index in sync; the check's trees are never in a git repository, where that is a no-op.
    * Copier parses ``copier.yml`` again on each ``run_copy``: kept per file content.
    * Copier builds the whole render context (the answers merged from seven sources, the
      answers to remember) again for every path part and file it renders, about 500 times per
      variant, though the answers are final once the files render: built once per render.

    The last two took the check's median render from 0.19 to 0.11 s of CPU. A shortcut whose
    Copier internals have moved in another Copier version is left out, not failed.
    """
    import copier._main
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
    copier._main.is_git_available = lambda: False  # type: ignore[attr-defined]
    with contextlib.suppress(ImportError, AttributeError):
        _parse_copier_yml_once()
    with contextlib.suppress(ImportError, AttributeError):
        _one_render_context_per_render()


def _parse_copier_yml_once() -> None:
    import copy

    import copier._template

    load: Any = copier._template.load_template_config
    parsed: dict[tuple[str, bytes, bool], Any] = {}

    def load_once(conf_path: Path, quiet: bool = False) -> Any:
        key = (str(conf_path), conf_path.read_bytes(), quiet)
        if b"!include" in key[1]:  # other files are read too: not keyed by this one alone
            return load(conf_path, quiet)
        if key not in parsed:
            parsed[key] = load(conf_path, quiet)
        return copy.deepcopy(parsed[key])  # callers may change what they get

    copier._template.load_template_config = load_once


def _one_render_context_per_render() -> None:
    from copier._main import Worker
    from copier._types import LazyDict, Phase

    build_context: Any = Worker._render_context
    render_template: Any = Worker._render_template
    if not hasattr(LazyDict(), "_pending"):  # how a fresh copy of _copier_conf is made below
        return

    def render_context(worker: Any) -> Any:
        context = worker.__dict__.get("_apiseed_render_context")
        if context is None or context["_copier_phase"] != Phase.current():
            return build_context(worker)  # e.g. external data, read in a phase of its own
        # Fresh mutable parts each time: Copier changes the _copier_conf it gets
        # (answers_relpath), and a template could change _copier_answers.
        return {
            **context,
            "_copier_conf": LazyDict(context["_copier_conf"]._pending),
            "_copier_answers": dict(context["_copier_answers"]),
        }

    def render_template_with_one_context(worker: Any) -> None:
        worker.__dict__["_apiseed_render_context"] = build_context(worker)
        try:
            render_template(worker)
        finally:
            del worker.__dict__["_apiseed_render_context"]

    setattr(Worker, "_render_context", render_context)  # noqa: B010 - mypy: methods
    setattr(Worker, "_render_template", render_template_with_one_context)  # noqa: B010


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


def main() -> None:
    # Results go to the original stdout; anything else printed here must not corrupt them.
    results: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    warm()
    tasks = sys.stdin.buffer
    while True:
        try:
            name, run, variant = pickle.load(tasks)
        except EOFError:
            for server in _servers.values():
                server.close()
            return
        answer: tuple[str, Any]
        try:
            answer = ("ok", TASKS[name](run, variant))
        except BaseException:  # a bug in apiseed itself: the parent raises it
            answer = ("error", traceback.format_exc())
        pickle.dump(answer, results)
        results.flush()
