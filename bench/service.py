"""Serve generated variants and a bare FastAPI app side by side and load them with wrk.

    python bench/service.py [--duration 10] [--rounds 3] [--connections 32]

Each app runs in uvicorn (one worker, access log off) pinned to the first core; wrk (one
thread) loads it from the second core. Rounds are interleaved (every app and route once per
round, then again), so a change in the machine's load touches every app alike. For each app
and route it prints the median over rounds of req/s, p50 and p99 latency and the server's CPU
time per request (from /proc), and each as a ratio to the bare app (``bench/bare_app.py``, the
same route shapes written by hand) measured in the same run. It only reports numbers.

With ``APISEED_POSTGRES_URL`` set, a JWT + PostgreSQL variant is served too (in a database of
its own, dropped afterwards). wrk is installed with apt-get when it is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "my_service"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The variants served, as `apiseed new --data` answers; every other answer is the default.
VARIANTS: dict[str, dict[str, str]] = {
    "none-none": {"auth": "none", "database": "none"},
    "none-sqlite": {"auth": "none", "database": "sqlite"},
    "jwt-sqlite": {"auth": "jwt", "database": "sqlite"},
}
POSTGRES_VARIANT = {"jwt-postgresql": {"auth": "jwt", "database": "postgresql"}}

# The routes loaded: name -> (method, path, needs a token). POST bodies come from a wrk script.
ROUTES: dict[str, tuple[str, str]] = {
    "GET /health": ("GET", "/health"),
    "GET /items": ("GET", "/items"),
    "GET /items/1": ("GET", "/items/1"),
    "POST /items": ("POST", "/items"),
}
POST_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"name": "bench", "quantity": 1}'
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    results: dict[str, list[dict[str, float]]] = field(default_factory=dict)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("error: wrk is not installed; install it with: sudo apt-get install wrk")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or sys.exit("error: apt-get did not install wrk")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def run(command: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def generate(name: str, answers: dict[str, str], root: Path) -> Path:
    destination = root / name
    data = [part for key, value in answers.items() for part in ("--data", f"{key}={value}")]
    run(
        [
            sys.executable,
            "-c",
            "from apiseed.cli import app; app()",
            "new",
            str(destination),
            "--defaults",
            *data,
        ],
        REPO,
        dict(os.environ),
    )
    return destination


def project_env(project: Path, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "MY_SERVICE_ENVIRONMENT": "staging"}
    for line in (project / ".env").read_text().splitlines() if (project / ".env").exists() else []:
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    if database_url:
        env["MY_SERVICE_DATABASE_URL"] = database_url
    return env


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"error: the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"error: {url} did not answer within 60 s")


def request(url: str, method: str, body: bytes, headers: dict[str, str]) -> bytes:
    message = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(message, timeout=10) as response:
        content: bytes = response.read()
        return content


def serve(name: str, app: list[str], cwd: Path, env: dict[str, str]) -> Server:
    port = free_port()
    command = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", *app]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=cwd, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process)
    return Server(name, process, url)


def serve_variant(name: str, project: Path, database_url: str | None) -> Server:
    env = project_env(project, database_url)
    if (project / "alembic.ini").exists():
        run([sys.executable, "-m", "alembic", "upgrade", "head"], project, env)
    token_headers: dict[str, str] = {}
    if (project / "src" / PACKAGE / "users").exists():
        command = [sys.executable, "-m", PACKAGE, "create-user", "bench", "--password-stdin"]
        run(command, project, env, stdin="bench-password-long-enough\n")
    server = serve(name, ["--factory", f"{PACKAGE}.main:create_app"], project, env)
    if (project / "src" / PACKAGE / "users").exists():
        form = urllib.parse.urlencode(
            {"username": "bench", "password": "bench-password-long-enough"}
        )
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        token = json.loads(request(server.url + "/token", "POST", form.encode(), form_type))
        token_headers = {"Authorization": f"Bearer {token['access_token']}"}
    server.headers = token_headers
    # The item that GET /items/1 reads, owned by the bench user where items have owners.
    body = json.dumps({"name": "first", "quantity": 1}).encode()
    item_headers = {**token_headers, "Content-Type": "application/json"}
    request(server.url + "/items", "POST", body, item_headers)
    return server


def parse_duration(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def load(wrk: str, server: Server, route: str, options: argparse.Namespace, script: Path) -> None:
    method, path = ROUTES[route]
    command = ["taskset", "-c", "1", wrk, "-t1", f"-c{options.connections}"]
    command += [f"-d{options.duration}s", "--latency", "--timeout", "10s"]
    for key, value in server.headers.items():
        command += ["-H", f"{key}: {value}"]
    if method == "POST":
        command += ["-s", str(script)]
    before = cpu_seconds(server.process.pid)
    output = subprocess.run(
        [*command, server.url + path], capture_output=True, text=True, check=True
    ).stdout
    cpu = cpu_seconds(server.process.pid) - before
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    latency = dict(re.findall(r"^[ \t]+(50|99)%[ \t]+(\S+)[ \t]*$", output, re.MULTILINE))
    if "99" not in latency:
        sys.exit(f"error: no latency from wrk for {server.name} {route}:\n{output}")
    server.results.setdefault(route, []).append(
        {
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
            "p50_ms": parse_duration(latency["50"]) * 1000,
            "p99_ms": parse_duration(latency["99"]) * 1000,
            "cpu_us": cpu / max(total, 1) * 1e6,
            "errors": float(errors.group(1)) if errors else 0.0,
            "socket_errors": float(sum(map(int, re.findall(r"\d+", socket_errors.group(1)))))
            if socket_errors
            else 0.0,
        }
    )


def median(server: Server, route: str, key: str) -> float:
    return statistics.median(result[key] for result in server.results[route])


def report(servers: list[Server]) -> None:
    bare = servers[0]
    print(
        f"\n{'app':<16} {'route':<14} {'req/s':>8} {'/bare':>6} {'p50 ms':>7} {'p99 ms':>8}"
        f" {'CPU us/req':>10} {'/bare':>6} {'non-2xx':>7} {'sock err':>8}"
    )
    for server in servers:
        for route in server.results:
            rps, cpu = median(server, route, "rps"), median(server, route, "cpu_us")
            base_rps = median(bare, route, "rps") if route in bare.results else float("nan")
            base_cpu = median(bare, route, "cpu_us") if route in bare.results else float("nan")
            errors = sum(result["errors"] for result in server.results[route])
            broken = sum(result["socket_errors"] for result in server.results[route])
            print(
                f"{server.name:<16} {route:<14} {rps:>8.0f} {rps / base_rps:>6.2f}"
                f" {median(server, route, 'p50_ms'):>7.1f} {median(server, route, 'p99_ms'):>8.1f}"
                f" {cpu:>10.0f} {cpu / base_cpu:>6.2f} {errors:>7.0f} {broken:>8.0f}"
            )


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A database of its own on the server at ``url``, dropped afterwards."""
    import psycopg

    name = f"apiseed_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        base = urllib.parse.urlsplit(url)
        yield urllib.parse.urlunsplit(base._replace(scheme="postgresql+psycopg", path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--variants", help="comma-separated variant names (default: all)")
    parser.add_argument(
        "--routes", help="comma-separated routes, e.g. 'GET /items/1' (default: all)"
    )
    options = parser.parse_args()
    wrk = ensure_wrk()
    print(f"load average: {os.getloadavg()}; uvicorn from {sys.executable}")
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        root = Path(scratch)
        script = root / "post.lua"
        script.write_text(POST_SCRIPT)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        servers = [serve("bare", ["bench.bare_app:app"], REPO, env)]
        chosen = dict(VARIANTS)
        postgres_url = os.environ.get("APISEED_POSTGRES_URL")
        if postgres_url:
            chosen |= POSTGRES_VARIANT
        if options.variants:
            chosen = {name: chosen[name] for name in options.variants.split(",")}
        for name, answers in chosen.items():
            project = generate(name, answers, root)
            url = None
            if answers["database"] == "sqlite":
                url = f"sqlite:///{project / 'bench.db'}"
            elif answers["database"] == "postgresql" and postgres_url:
                url = stack.enter_context(postgres_database(postgres_url))
            servers.append(serve_variant(name, project, url))
        routes = options.routes.split(",") if options.routes else list(ROUTES)
        try:
            for round_number in range(options.rounds):
                print(f"round {round_number + 1}/{options.rounds}", flush=True)
                for route in routes:
                    for server in servers:
                        load(wrk, server, route, options, script)
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait(timeout=10)
        report(servers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
