"""A long-lived ``apiseed check`` worker process.

It imports the heavy libraries once, then reads tasks (pickled ``(name, run, variant)``) from
stdin and writes each result as a pickle to stdout. Started by ``apiseed.matrix.pool`` with
``python -c`` so that nothing of the caller's ``__main__`` runs again here.
"""

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
from apiseed.matrix import accel, deps, steps
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
    client: Path | None = None  # the client check's test (--client), copied into each tree
    accelerators: tuple[str, ...] = ()  # the ones to apply (``apiseed.matrix.accel``)

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

    def tests(step: str, *args: str) -> Callable[[], None]:
        def action() -> None:
            env = steps.test_environment(declared, variant, package, run.postgres_url)
            if step == "fuzz":
                env = steps.fuzz_environment(declared, env, package)
            log = work / f"{step}.log"
            version = variant.answers.get(declared.python_question or "")
            if version is None:
                steps.run_tests(tree, package, env, work / step, log, step=step, args=args)
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
    if run.client is not None:
        client = run.client

        def drive_client() -> None:
            # In apiseed's own environment at any Python version: openapi-python-client needs
            # 3.11, and the schema and the answers are the same under each interpreter.
            test = Path(declared.client_into) / client.name
            shutil.copy2(client, tree / test)
            env = steps.test_environment(declared, variant, package, run.postgres_url)
            log = work / "client.log"
            steps.run_tests(
                tree, package, env, work / "client", log, step="client", args=[str(test)]
            )

        plan.append(("client", drive_client))
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


def accelerate(run: Run) -> None:
    """Apply the run's accelerators in this worker (``accel.activate`` applies each once)."""
    accel.activate(run.accelerators)


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
    gc.collect()
    gc.freeze()  # children's garbage collections then skip everything imported here


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
            accelerate(run)
            answer = ("ok", TASKS[name](run, variant))
        except BaseException:  # a bug in apiseed itself: the parent raises it
            answer = ("error", traceback.format_exc())
        pickle.dump(answer, results)
        results.flush()
