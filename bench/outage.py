"""A generated PostgreSQL service under load while its database is stopped, restarted, frozen
and thawed: how every request ends, how long the slowest took, and the connections left.

    python bench/outage.py [--requests 2000] [--concurrency 100] [--rate 200] [--freeze 15]

Starts a throwaway PostgreSQL cluster of its own (initdb/pg_ctl, as the user apiseed-pg when
run as root) on a free loopback port, generates `apiseed new --defaults` with database=postgresql
and auth=none, creates its tables, serves it with uvicorn, and sends the requests (GET and POST
/items, ``--rate`` a second, at most ``--concurrency`` at once, httpx2) while the timeline below
runs. It prints counts per outcome and phase, the slowest request, and the server's connections
after the load. It only reports numbers: nothing here is asserted.
"""

import argparse
import asyncio
import collections
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

REPO = Path(__file__).resolve().parent.parent
# Seconds after the load starts: (what happens, the phase it starts); the thaw comes --freeze
# seconds after the freeze.
TIMELINE = ((2.0, "stop"), (4.0, "start"), (6.0, "freeze"))
CLIENT_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run as apiseed-pg when we are root."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.as_user = ["runuser", "-u", "apiseed-pg", "--"] if os.geteuid() == 0 else []
        bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.pg_ctl, initdb = str(bindir / "pg_ctl"), str(bindir / "initdb")
        if self.as_user:
            shutil.chown(root, "apiseed-pg")
        secret = root / "password"
        secret.write_text(self.password + "\n")
        if self.as_user:
            shutil.chown(secret, "apiseed-pg")
        self.run(
            initdb,
            "-D",
            str(self.data),
            "-U",
            "postgres",
            f"--pwfile={secret}",
            "-A",
            "scram-sha-256",
        )
        self.start()

    def run(self, *command: str) -> None:
        # No pipes: the server started by pg_ctl would hold them open.
        quiet = subprocess.DEVNULL
        subprocess.run([*self.as_user, *command], check=True, stdout=quiet, stderr=quiet)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data.parent} -c max_connections=100"
        log = str(self.data.parent / "server.log")
        self.run(self.pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self.run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def processes(self) -> list[int]:
        first = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(first)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [first, *map(int, children)]

    def signal(self, number: signal.Signals) -> None:
        for pid in self.processes():
            os.kill(pid, number)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def connections(self) -> int:
        import psycopg

        url = self.url.replace("+psycopg", "")
        with psycopg.connect(url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0]) if row else 0


async def load(
    base: str, requests: int, concurrency: int, rate: float, freeze: float, cluster: Cluster
) -> None:
    outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
    slowest = 0.0
    phase = "up"
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)

    async def one(client: httpx2.AsyncClient, number: int) -> None:
        nonlocal slowest
        started, at = time.perf_counter(), phase
        try:
            if number % 4 == 0:
                response = await client.post("/items", json={"name": f"item {number}"})
            else:
                response = await client.get("/items", params={"limit": 5})
            outcome = str(response.status_code)
        except httpx2.HTTPError as error:
            outcome = type(error).__name__
        finally:
            gate.release()
        slowest = max(slowest, time.perf_counter() - started)
        outcomes[at, outcome] += 1

    async def timeline(start: float) -> None:
        nonlocal phase
        for at, event in (*TIMELINE, (TIMELINE[-1][0] + freeze, "thaw")):
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            phase = event
            if event == "stop":
                await asyncio.to_thread(cluster.stop)
            elif event == "start":
                await asyncio.to_thread(cluster.start)
            elif event == "freeze":
                cluster.signal(signal.SIGSTOP)
            else:
                cluster.signal(signal.SIGCONT)

    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=CLIENT_TIMEOUT) as client:
        start = time.perf_counter()
        events = asyncio.create_task(timeline(start))
        tasks = []
        for number in range(requests):
            await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
            await gate.acquire()
            tasks.append(asyncio.create_task(one(client, number)))
        await asyncio.gather(*tasks)
        await events
        elapsed = time.perf_counter() - start
        after = (await client.get("/health/ready")).status_code
    print(f"{requests} requests in {elapsed:.1f} s, at most {concurrency} at once")
    for (at, outcome), count in sorted(outcomes.items()):
        print(f"  phase {at:7} {outcome:>24}: {count}")
    print(f"slowest request: {slowest:.2f} s; /health/ready after the load: {after}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0, help="requests started a second")
    freeze_help = "seconds the database stays frozen (the service's request time-out is 10)"
    parser.add_argument("--freeze", type=float, default=15.0, help=freeze_help)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apiseed-outage-") as scratch:
        root = Path(scratch)
        root.chmod(0o711)  # the cluster's user must reach its folder inside
        (root / "pg").mkdir()
        cluster = Cluster(root / "pg")
        server = None
        try:
            project = root / "service"
            apiseed = str(Path(sys.executable).parent / "apiseed")
            data = ["-d", "database=postgresql", "-d", "auth=none"]
            new = [apiseed, "new", str(project), "--defaults", *data]
            subprocess.run(new, check=True, stdout=subprocess.DEVNULL)
            env = {**os.environ, "MY_SERVICE_DATABASE_URL": cluster.url}
            alembic = str(Path(sys.executable).parent / "alembic")
            subprocess.run([alembic, "upgrade", "head"], cwd=project, env=env, check=True)
            port = free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "my_service.main:create_app",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                cwd=project,
                env={**env, "PYTHONPATH": str(project / "src")},
            )
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx2.get(f"{base}/health/live").status_code == 200:
                        break
                except httpx2.HTTPError:
                    time.sleep(0.1)
            load_args = (base, args.requests, args.concurrency, args.rate, args.freeze, cluster)
            asyncio.run(load(*load_args))
            print(f"server connections after the load: {cluster.connections()}")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            cluster.signal(signal.SIGCONT)
            cluster.run(cluster.pg_ctl, "-D", str(cluster.data), "-m", "immediate", "stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
