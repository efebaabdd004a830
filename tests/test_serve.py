"""A generated project served in real processes (``tests/test_readme.py`` follows its README:
``uv sync``, ``fastapi dev``, ``uv run pytest``).

* The container without a container: the project's wheel in a fresh virtual environment, run
  with the Dockerfile's command and environment, from a read-only working directory laid out
  as the Dockerfile's ``COPY`` lines lay it out, as an unprivileged user, with only the data
  directory writable. It must refuse to start without its secret (one line), migrate, serve
  health, log in, run a background task, and log JSON lines with request ids.
* The docs pages, served by ``fastapi run`` (the app found through ``[tool.fastapi]``),
  rendered by headless Chromium that can reach nothing but loopback.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import render_variant, serving

from apiseed.matrix.steps import tool

PACKAGE = "my_service"
UNPRIVILEGED = 65534  # nobody
AS_USER = ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"]
SECRET = "a-real-deployment-secret-0123456789abcdefXYZ"


def run(command: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def uv_env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    return {**clean, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}


def request(
    method: str, url: str, data: bytes | None = None, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    call = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def unprivileged_python() -> str:
    """An interpreter the unprivileged user can run with its own standard library, as the
    image's /usr/local/bin/python (pyenv's, under root's home, falls back to another's)."""
    probe = "import sys; assert sys.version_info >= (3, 11); print(sys.base_prefix)"
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    for candidate in (base, "/usr/bin/python3"):
        as_root, as_user = (
            subprocess.run([*user, candidate, "-c", probe], capture_output=True, check=False)
            for user in ([], AS_USER)
        )
        if as_root.returncode == as_user.returncode == 0 and as_root.stdout == as_user.stdout:
            return candidate
    pytest.fail("no Python 3.11+ that an unprivileged user may run")


class Dockerfile:
    """What the final stage of a generated Dockerfile sets: ENV, WORKDIR, COPY, USER, CMD."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        final = text.rsplit("\nFROM ", 1)[1]
        self.env: dict[str, str] = {}
        self.copies: list[str] = []
        self.cmd: list[str] = []
        self.healthcheck: list[str] = []
        self.workdir = self.user = ""
        for line in final.splitlines()[1:]:
            instruction, _, rest = line.strip().partition(" ")
            if instruction == "ENV":
                for pair in shlex.split(rest):
                    name, _, value = pair.partition("=")
                    self.env[name] = value
            elif instruction == "COPY" and not rest.startswith("--from"):
                self.copies.append(shlex.split(rest)[0])
            elif instruction == "WORKDIR":
                self.workdir = rest
            elif instruction == "USER":
                self.user = rest
            elif instruction == "CMD":
                self.cmd = json.loads(rest)
            elif instruction == "HEALTHCHECK":
                self.healthcheck = json.loads(rest.split(" CMD ", 1)[1])


def test_the_dockerfiles_service_runs_as_in_its_container(template: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="apiseed-container-"))
    try:
        root.chmod(0o755)  # the unprivileged user walks through it, as through / in an image
        container_like_run(template, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def container_like_run(template: Path, root: Path) -> None:
    project = render_variant(template, root / "project", {})
    dockerfile = Dockerfile(project / "Dockerfile")
    assert dockerfile.user == str(int(dockerfile.user))  # numeric (hadolint DL3066)
    assert dockerfile.env[f"{PACKAGE.upper()}_ENVIRONMENT"] == "production"
    uv = tool("uv")

    # The image's virtual environment: the wheel and its dependencies, nothing else.
    run([uv, "build", "--wheel", "--out-dir", str(root / "dist")], project, uv_env())
    venv = root / "venv"
    run([uv, "venv", "--python", unprivileged_python(), str(venv)], root, uv_env())
    (wheel,) = (root / "dist").glob("*.whl")
    run(
        [uv, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)], root, uv_env()
    )

    # WORKDIR with what COPY puts there, owned by root; the data directory is the user's.
    workdir = root / dockerfile.workdir.lstrip("/")
    workdir.mkdir(parents=True)
    for source in dockerfile.copies:
        copy = shutil.copytree if (project / source).is_dir() else shutil.copy2
        copy(project / source, workdir / source)
    for path in (root / "app", workdir, *workdir.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    data = root / "app" / "data"
    data.mkdir(mode=0o755)
    os.chown(data, UNPRIVILEGED, UNPRIVILEGED)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": "/nonexistent",
        **{
            name: value.replace("$PATH", "").replace("/app/", f"{root}/app/")
            for name, value in dockerfile.env.items()
            if name != "PATH"
        },
    }
    env[f"{PACKAGE.upper()}_HOST"] = "127.0.0.1"  # the container's 0.0.0.0, kept off the network

    refused = subprocess.run(
        [*AS_USER, *dockerfile.cmd],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"error: invalid settings: jwt_secret: {PACKAGE.upper()}_JWT_SECRET must be set outside "
        "development and test; generate one with: python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'"
    ]

    env[f"{PACKAGE.upper()}_JWT_SECRET"] = SECRET
    run([*AS_USER, "alembic", "upgrade", "head"], workdir, env)  # the README's migration
    password = subprocess.run(
        [*AS_USER, "python", "-m", PACKAGE, "create-user", "alice", "--password-stdin"],
        cwd=workdir,
        env=env,
        input="correct horse battery staple\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert password.returncode == 0, password.stderr
    port_variable = f"{PACKAGE.upper()}_PORT"
    with tempfile.TemporaryFile() as output:
        with serving([*AS_USER, *dockerfile.cmd], workdir, env, port_variable, output) as base:
            port = base.rsplit(":", 1)[1]
            serve_as_a_user(base, env | {port_variable: port}, workdir, dockerfile)
        output.seek(0)
        printed = output.read().decode()
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    audit = [
        (line["request_id"], line["message"])
        for line in lines
        if line["name"] == f"{PACKAGE}.audit"
    ]
    assert audit[1:] == [
        ("container-test-1", "POST /notifications succeeded"),
        ("container-test-1", "POST /items succeeded"),
    ]
    assert audit[0][1] == "POST /token succeeded"  # every write is audited, a log-in too
    access = [line for line in lines if line["name"] == "uvicorn.access"]
    assert "container-test-1" in {line["request_id"] for line in access}


def serve_as_a_user(base: str, env: dict[str, str], workdir: Path, dockerfile: Dockerfile) -> None:
    """Health as Docker checks it, a log-in, a background task, a write; the docs hidden."""
    assert "/health/live" in dockerfile.healthcheck[-1]
    run([*AS_USER, *dockerfile.healthcheck], workdir, env)
    form = urllib.parse.urlencode(
        {"username": "alice", "password": "correct horse battery staple"}
    ).encode()
    status, token = request(
        "POST", f"{base}/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200, token
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "Content-Type": "application/json",
        "X-Request-ID": "container-test-1",
    }
    note = json.dumps({"email": "ops@example.com", "message": "deployed"}).encode()
    status, body = request("POST", f"{base}/notifications", note, headers)
    assert status == 202, body
    log = Path(env[f"{PACKAGE.upper()}_NOTIFICATION_LOG"])
    deadline = time.monotonic() + 10
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert log.read_text(encoding="utf-8") == "notification for ops@example.com: deployed\n"
    item = json.dumps({"name": "deployed"}).encode()
    assert request("POST", f"{base}/items", item, headers)[0] == 201
    assert request("GET", f"{base}/docs")[0] == 404  # production hides the docs


CHROMIUM_OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # No name resolves but loopback's: a CDN is as unreachable as on an air-gapped network.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--dump-dom",
    "--virtual-time-budget=5000",
]


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran, in headless Chromium without network access."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (.ci/run installs it: apt-get install chromium)")
    result = subprocess.run(
        [chromium, *CHROMIUM_OFFLINE, url], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("docs", "assets", "rendered"),
    [
        ({}, "local", True),
        (
            {
                "openapi_url": "/api/openapi.json",
                "docs_url": "/api/docs",
                "redoc_url": "/api/redoc",
            },
            "local",
            True,
        ),
        ({}, "cdn", False),  # the test's own control: the CDN is out of reach
    ],
    ids=["docs_default", "docs_custom", "cdn_control"],
)
def test_docs_pages_render_without_network(
    template: Path,
    tmp_path: Path,
    docs: dict[str, str],
    assets: str,
    rendered: bool,
) -> None:
    project = render_variant(template, tmp_path / "service", docs)
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        f"{PACKAGE.upper()}_DOCS_ASSETS": assets,
    }
    # `fastapi run`, which finds the app through [tool.fastapi] in the project's pyproject.toml.
    command = ["bash", "-c", f'exec {tool("fastapi")} run --host 127.0.0.1 --port "$PORT"']
    with serving(command, project, env, "PORT") as base:
        check_docs_pages(base, docs, rendered)


def check_docs_pages(base: str, docs: dict[str, str], rendered: bool) -> None:
    docs_url, redoc_url = docs.get("docs_url", "/docs"), docs.get("redoc_url", "/redoc")

    swagger = rendered_dom(base + docs_url)
    redoc = rendered_dom(base + redoc_url)

    paths = ["/health", "/items", "/items/{item_id}", "/notifications", "/token", "/users/me"]
    for path in paths:
        assert (f'class="opblock-summary-path" data-path="{path}"' in swagger) == rendered, path
    openapi_url = docs.get("openapi_url", "/openapi.json")
    schema = request("GET", base + openapi_url)[1]
    operations = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= len(paths)
    for operation in operations:
        assert (f"operation/{operation}" in redoc) == rendered, operation
