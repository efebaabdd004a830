"""The check's mypy server: one per worker, re-checking each variant from the last one's state.

Its verdicts must be plain mypy's: an error that appears in a later variant is found, one that
goes away is no longer reported, and removed files are forgotten.
"""

from pathlib import Path
from typing import Any

import pytest

from apiseed.matrix.mypy import MypyServer
from apiseed.matrix.steps import StepFailedError, run_mypy

CONFIG = '[tool.mypy]\nstrict = true\nfiles = ["src"]\nmypy_path = "src"\n'
GOOD = "def answer() -> int:\n    return 42\n"
BAD = 'def answer() -> int:\n    return "forty-two"\n'
USER = "from shop.answer import answer\n\n\ndef double() -> int:\n    return 2 * answer()\n"


def project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    for name, text in {"src/shop/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def server(tmp_path: Path) -> MypyServer:
    return MypyServer(tmp_path / "server", seed=None)


def verdict(server: MypyServer, tree: Path) -> str:
    try:
        run_mypy(tree, server, tree.parent / f"{tree.name}.log")
    except StepFailedError as error:
        return error.message
    return "ok"


def test_errors_come_and_go_with_the_variants(tmp_path: Path, server: MypyServer) -> None:
    good = project(tmp_path / "good", {"src/shop/answer.py": GOOD, "src/shop/use.py": USER})
    bad = project(tmp_path / "bad", {"src/shop/answer.py": BAD, "src/shop/use.py": USER})
    smaller = project(tmp_path / "smaller", {"src/shop/answer.py": GOOD})
    broken_user = project(
        tmp_path / "broken_user",
        {"src/shop/answer.py": GOOD, "src/shop/use.py": USER.replace("2 * answer()", "str()")},
    )

    try:
        verdicts = [verdict(server, tree) for tree in (good, bad, good, smaller, broken_user)]
    finally:
        server.close()

    assert verdicts[0] == "ok"
    assert verdicts[1].startswith("src/shop/answer.py:2: error: Incompatible return value type")
    assert verdicts[2:4] == ["ok", "ok"]
    assert verdicts[4].startswith("src/shop/use.py:5: error: Incompatible return value type")


def test_a_server_that_saw_a_clean_variant_still_fails_a_broken_one(
    tmp_path: Path, server: MypyServer
) -> None:
    good = project(tmp_path / "good", {"src/shop/answer.py": GOOD})
    bad = project(tmp_path / "bad", {"src/shop/answer.py": BAD})

    try:
        verdict(server, good)
        verdict(server, good)  # now answered by the server, from its own state
        server_cpu_after_clean = server.server_cpu
        found = verdict(server, bad)
    finally:
        server.close()

    assert server_cpu_after_clean > 0
    assert "Incompatible return value type" in found


def test_a_variant_sharing_the_first_ones_error_fails_too(
    tmp_path: Path, server: MypyServer
) -> None:
    """The first variant's plain mypy run fails; a server started from the cache it wrote
    would report the same, unchanged, file as clean (mypy issue 20519)."""
    bad = project(tmp_path / "bad", {"src/shop/answer.py": BAD, "src/shop/use.py": USER})
    also_bad = project(
        tmp_path / "also_bad", {"src/shop/answer.py": BAD, "src/shop/use.py": USER + "\n"}
    )

    try:
        verdicts = [verdict(server, tree) for tree in (bad, also_bad, bad)]
    finally:
        server.close()

    assert all("answer.py:2: error: Incompatible return value type" in v for v in verdicts)


def test_a_server_crash_on_namespace_packages_leaves_the_verdicts_right(tmp_path: Path) -> None:
    """mypy issue 20519: dmypy started from a fine-grained cache crashes with a KeyError on a
    namespace package (a generated project's ``tests`` folders) once one of its modules has
    changed: with the installed mypy, the verdicts stay mypy's (the replacement of a crashed
    server is tested on its own below)."""
    from mypy import api

    from apiseed.matrix.mypy import _Daemon

    clean = project(tmp_path / "clean", {"src/shop/checks/values.py": "a: int = 1\n"})
    broken = project(tmp_path / "broken", {"src/shop/checks/values.py": 'a: int = ""\n'})
    cache = tmp_path / "cache"
    config = str(clean / "pyproject.toml")
    api.run(["--cache-fine-grained", "--cache-dir", str(cache), "--config-file", config])
    daemon = _Daemon(tmp_path / "mirror", cache)

    statuses = [daemon.check(tree)[0] for tree in (clean, broken, broken, clean)]

    assert statuses == [0, 1, 1, 0]


def test_a_crashed_server_is_replaced_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever mypy version is installed: a server that raises is dropped and a new one
    started, which gives the verdict."""
    from mypy.dmypy_server import Server

    from apiseed.matrix.mypy import _Daemon

    broken = project(tmp_path / "broken", {"src/shop/values.py": 'a: int = ""\n'})
    daemon = _Daemon(tmp_path / "mirror", tmp_path / "cache")
    started: list[Server] = []
    start, run = daemon._start, Server.cmd_run

    def counted_start(flags: list[str]) -> Server:
        started.append(start(flags))
        return started[-1]

    def first_server_crashes(server: Server, *args: Any) -> dict[str, object]:
        if server is started[0]:
            raise KeyError("shop.checks")
        return run(server, *args)

    monkeypatch.setattr(daemon, "_start", counted_start)
    monkeypatch.setattr(Server, "cmd_run", first_server_crashes)

    status, output = daemon.check(broken)

    assert (status, len(started)) == (1, 2)
    assert "Incompatible types in assignment" in output
