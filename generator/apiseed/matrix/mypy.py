"""mypy over many variants of one project: a fine-grained mypy server beside each worker.

Checking a variant from scratch reloads the types of FastAPI, Pydantic and SQLAlchemy from
mypy's cache every time (about a second). Instead each worker keeps what ``dmypy`` runs, mypy's
fine-grained server, in a child process of its own, with a mirror folder: each variant's files
are synced into the mirror (only the files that differ from the last variant's are written),
and the server re-checks just the modules that changed and those that depend on them: 0.15 to
0.45 s for a neighbouring variant. The server lives in its own process because its memory
would otherwise be copied into, and walked by the garbage collector of, every forked test run.

The server starts from a fine-grained cache: one kept from an earlier run, or else written
first by a plain ``mypy --cache-fine-grained`` of the first variant, if it passed (a server
started from a cache with errors reports them as fixed). A server that finds
errors is not trusted alone: the variant fails only if a plain mypy run in a forked child
agrees, and its output is what the failure shows; otherwise the server is replaced. A server
that crashes is replaced once, then plain mypy decides: dmypy has known bugs, such as a
``KeyError`` on namespace packages when it starts from a fine-grained cache (mypy issue 20519;
about once per server start here, 1.5 s, so it is left to the retry). Where there is no
``fork`` (Windows), plain mypy checks every variant.
"""

import contextlib
import io
import os
import pickle
import select
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

CheckResult = tuple[int, str]  # exit status, output
REPLY_TIMEOUT = 600  # seconds the server may take for one variant before it is killed


class MypyServer:
    """One worker's mypy server process, its mirror folder and its cache, under ``home``."""

    def __init__(self, home: Path, seed: Path | None) -> None:
        self.home = home
        self.cache = home / "cache"  # the server starts from it: only ever written clean
        self.plain_cache = home / "plain-cache"  # plain mypy's, which may hold errors
        self.seed = seed
        self.server_cpu = 0.0  # CPU seconds the server process spent on the last check
        self._process: tuple[int, BinaryIO, BinaryIO] | None = None
        self._trusted = True

    def check(self, tree: Path, plain: Callable[[Path], CheckResult]) -> CheckResult:
        """mypy's verdict on ``tree``; ``plain(cache_dir)`` runs plain mypy on it."""
        self.server_cpu = 0.0
        if not hasattr(os, "fork"):  # no server process where there is no fork: plain mypy,
            self._has_cache()  # from the cache kept by an earlier run if there is one
            return self._plain(plain)
        if self._process is None and not self._has_cache():
            status, output = self._plain(plain)
            if status != 0:
                return status, output
        reply = self._ask(tree)
        if reply is not None and reply[0] == 0:
            return reply
        status, output = self._plain(plain)
        if reply is not None and status == 0:  # errors that mypy does not see: replace it
            self._trusted = False
        return status, output

    def close(self) -> None:
        if self._process is None:
            return
        pid, requests, replies = self._process
        self._process = None
        requests.close()
        replies.close()
        os.waitpid(pid, 0)

    def _plain(self, plain: Callable[[Path], CheckResult]) -> CheckResult:
        """Plain mypy in a cache of its own. A server started from a cache written with errors
        reports the files that had them as clean while they stay unchanged (mypy issue 20519),
        so plain mypy's cache is never where a server starts."""
        if not self.plain_cache.exists() and self.cache.exists():
            shutil.copytree(self.cache, self.plain_cache)  # a warm start
        status, output = plain(self.plain_cache)
        if status == 0:
            # Clean, and it knows this variant's modules: where the next server starts. A
            # server started from a cache without a module the variant imports (SQLAlchemy,
            # after a first variant without a database) crashes on it in dmypy.
            shutil.rmtree(self.cache, ignore_errors=True)
            shutil.copytree(self.plain_cache, self.cache)
        return status, output

    def _has_cache(self) -> bool:
        if not self.cache.exists() and self.seed is not None and self.seed.is_dir():
            shutil.copytree(self.seed, self.cache)
        return self.cache.exists()

    def _ask(self, tree: Path) -> CheckResult | None:
        """The server's verdict, or None if it crashed twice, hung or died."""
        if self._process is None:
            self._process = self._spawn()
        pid, requests, replies = self._process
        try:
            pickle.dump((tree, self._trusted), requests)
            requests.flush()
            self._trusted = True
            ready, _, _ = select.select([replies], [], [], REPLY_TIMEOUT)
            if not ready:
                raise TimeoutError
            status, output, self.server_cpu = pickle.load(replies)
        except (OSError, EOFError, TimeoutError, pickle.UnpicklingError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self.close()
            return None
        return None if status is None else (status, output)

    def _spawn(self) -> tuple[int, BinaryIO, BinaryIO]:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the server process
            code = 0
            try:
                _close_all_but({request_read, reply_write})
                devnull = os.open(os.devnull, os.O_RDWR)
                for descriptor in (0, 1, 2):
                    os.dup2(devnull, descriptor)
                _serve(self.home, self.cache, os.fdopen(request_read, "rb"), reply_write)
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        os.close(request_read)
        os.close(reply_write)
        return pid, os.fdopen(request_write, "wb"), os.fdopen(reply_read, "rb")


def _serve(home: Path, cache: Path, requests: BinaryIO, reply_descriptor: int) -> None:
    """The server process: answers ``(tree, trusted)`` with ``(status, output, cpu)``."""
    replies = os.fdopen(reply_descriptor, "wb")
    daemon = _Daemon(home / "mirror", cache)
    while True:
        try:
            tree, trusted = pickle.load(requests)
        except EOFError:
            return
        started = _cpu()
        if not trusted:
            daemon.server = None
        status, output = daemon.check(tree)
        pickle.dump((status, output, _cpu() - started), replies)
        replies.flush()


class _Daemon:
    def __init__(self, mirror: Path, cache: Path) -> None:
        self.mirror = mirror
        self.cache = cache
        self.server: Any = None
        self._clock = 0

    def check(self, tree: Path) -> tuple[int | None, str]:
        self._sync(tree)
        for _attempt in range(2):
            try:
                return self._run()
            except Exception:  # the server has known crashes (KeyError): a new one, once
                self.server = None
        return None, ""

    def _run(self) -> CheckResult:
        from mypy.version import __version__

        flags = ["--use-fine-grained-cache", "--cache-dir", str(self.cache)]
        with _inside(self.mirror):
            if self.server is None:
                self.server = self._start(flags)
            result = self.server.cmd_run(__version__, flags, False, False, 100)
            if "restart" in result:  # this variant's mypy configuration differs
                self.server = self._start(flags)
                result = self.server.cmd_run(__version__, flags, False, False, 100)
        return int(result["status"]), str(result["out"]) + str(result["err"])

    def _start(self, flags: list[str]) -> Any:
        from mypy.dmypy_server import process_start_options

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            options = process_start_options(flags, allow_sources=False)
        from mypy.dmypy_server import Server

        return Server(options, str(self.mirror.parent / "dmypy.status"))

    def _sync(self, tree: Path) -> None:
        """Make the mirror hold exactly ``tree``'s files, writing only those that differ.

        Each written file gets a new, strictly increasing modification time, so the server
        sees every change even when two versions of a file have the same size.
        """
        wanted = {path.relative_to(tree) for path in tree.rglob("*") if path.is_file()}
        if self.mirror.exists():
            for path in sorted(self.mirror.rglob("*"), reverse=True):
                relative = path.relative_to(self.mirror)
                if path.is_file() and relative not in wanted:
                    path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
        for relative in sorted(wanted):
            source, target = tree / relative, self.mirror / relative
            content = source.read_bytes()
            if target.is_file() and target.read_bytes() == content:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            self._clock += 1
            stamp = 1_000_000_000 * (1_700_000_000 + self._clock)
            os.utime(target, ns=(stamp, stamp))


def _close_all_but(keep: set[int]) -> None:
    """Close every descriptor above stderr but ``keep``: the worker's result pipe above all,
    whose end of file tells the pool that the worker died."""
    start = 3
    for descriptor in sorted(keep):
        os.closerange(start, descriptor)
        start = descriptor + 1
    os.closerange(start, os.sysconf("SC_OPEN_MAX"))


def _cpu() -> float:
    return time.process_time()  # nanosecond resolution: a quick re-check takes under a tick


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
