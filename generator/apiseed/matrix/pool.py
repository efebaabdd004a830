"""A pool of ``apiseed.matrix.worker`` processes, fed tasks over pipes.

Plain subprocesses rather than ``multiprocessing``: the caller's ``__main__`` (a script, pytest,
the ``apiseed`` entry point) is never imported again, and the caller may have threads.
"""

import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import apiseed

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); import apiseed.matrix.worker as worker; "
    "sys.path.remove(sys.argv[1]); worker.main()"
)


class WorkerError(RuntimeError):
    """A worker crashed or raised: a bug in apiseed, not a failing variant."""


class Pool:
    def __init__(self, jobs: int, cwd: Path) -> None:
        source = str(Path(apiseed.__file__).resolve().parent.parent)
        self._workers = [
            subprocess.Popen(
                [sys.executable, "-c", _BOOT, source],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=cwd,
            )
            for _ in range(max(1, jobs))
        ]
        # One thread per worker reads its replies into one queue: waiting on several pipes at
        # once, portably (select() takes no pipes on Windows).
        self._replies: queue.SimpleQueue[tuple[int, tuple[str, Any] | None]] = queue.SimpleQueue()
        for k, worker in enumerate(self._workers):
            threading.Thread(target=self._read, args=(k, worker), daemon=True).start()

    def _read(self, k: int, worker: subprocess.Popen[bytes]) -> None:
        """Put each of worker ``k``'s replies on the queue, then None when it has no more."""
        assert worker.stdout is not None
        while True:
            try:
                reply = pickle.load(worker.stdout)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                self._replies.put((k, None))
                return
            self._replies.put((k, reply))

    def map(self, name: str, items: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """Run task ``name`` on every item; yields ``(index, result)`` as each one finishes.

        Each worker takes a contiguous run of the items (neighbouring variants differ in few
        files, so its mypy cache has less to redo); one that runs dry takes from the far end of
        the longest remaining run.
        """
        count = len(self._workers)
        bounds = [k * len(items) // count for k in range(count + 1)]
        queues = [
            deque((index, items[index]) for index in range(bounds[k], bounds[k + 1]))
            for k in range(count)
        ]
        busy: dict[int, int] = {}

        def feed(k: int) -> bool:
            items = queues[k] if queues[k] else max(queues, key=len)
            if not items:
                return False
            busy[k] = self._send(
                self._workers[k], name, items.popleft() if items is queues[k] else items.pop()
            )
            return True

        for k in range(count):
            feed(k)
        while busy:
            k, reply = self._replies.get()
            if k not in busy:  # an idle worker's end: it had nothing left to answer
                continue
            index = busy.pop(k)
            yield index, self._unwrap(self._workers[k], reply)
            feed(k)

    def _send(self, worker: subprocess.Popen[bytes], name: str, item: tuple[int, Any]) -> int:
        index, args = item
        assert worker.stdin is not None
        pickle.dump((name, *args), worker.stdin)
        worker.stdin.flush()
        return index

    def _unwrap(self, worker: subprocess.Popen[bytes], reply: tuple[str, Any] | None) -> Any:
        if reply is None:
            raise WorkerError(f"check worker {worker.pid} exited with {worker.wait()}")
        status, value = reply
        if status != "ok":
            raise WorkerError(f"check worker {worker.pid} failed:\n{value}")
        return value

    def close(self) -> None:
        for worker in self._workers:
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in self._workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None:
            for worker in self._workers:
                worker.kill()
        self.close()


def default_jobs() -> int:
    """The CPUs this process may run on (Linux), else the machine's (macOS, Windows)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
