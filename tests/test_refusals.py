"""Every refusal is one plain line: bad answers, ``--data``/``--data-file``, environment
variables, destinations and signals each end in exactly one line on stderr (no traceback, no
markup eaten), a non-zero exit, and the destination byte for byte as it was.

The table below is the contract: each row is an input a user can give and a fragment of the
one line that must answer it.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiseed.cli import app

runner = CliRunner()

Setup = Callable[[Path], None]


def nothing(root: Path) -> None:
    pass


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    message: str
    env: dict[str, str] = field(default_factory=dict)
    setup: Setup = nothing
    command: str = "new"


def data(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--data", pair)]


def write(name: str, content: str | bytes) -> Setup:
    def make(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return make


LONG = "x" * 200
ANSWERS: list[Case] = [
    Case("auth-unknown-choice", data("auth=oauth"), "invalid answer for 'auth': 'oauth' is not"),
    Case("database-mysql", data("database=mysql"), "invalid answer for 'database'"),
    Case("python-3.9", data("python_version=3.9"), "invalid answer for 'python_version'"),
    Case("python-3.1-float", data("python_version=3.1"), "invalid answer for 'python_version'"),
    Case("middleware-maybe", data("middleware=maybe"), "'middleware': must be true or false"),
    Case("background-2", data("background_tasks=2"), "'background_tasks': must be true or false"),
    Case("static-files-empty", data("static_files="), "'static_files': must be true or false"),
    Case("cors-star", data("cors_origins=*"), "'cors_origins': '*' is not valid YAML"),
    Case("cors-unclosed", data('cors_origins=["http://a"'), "'cors_origins': '[\"http://a\"'"),
    Case("cors-star-in-list", data("cors_origins=['*']"), "'*' is not an origin"),
    Case("cors-string", data("cors_origins=https://a.example.com"), "must be a list of origins"),
    Case("cors-mapping", data("cors_origins={a: 1}"), "must be a list of origins"),
    Case("cors-path", data("cors_origins=['https://a.example.com/x']"), "is not an origin"),
    Case("cors-ftp", data("cors_origins=['ftp://a.example.com']"), "is not an origin"),
    Case("cors-number", data("cors_origins=[1]"), "'1' is not an origin"),
    Case("cors-repeated", data("cors_origins=['http://a.io', 'http://a.io']"), "must not repeat"),
    Case("name-empty", data("project_name="), "'project_name': must not be empty"),
    Case("name-blank", data("project_name=   "), "'project_name': must not be empty"),
    Case("name-long", data(f"project_name={'n' * 81}"), "'project_name': must be at most 80"),
    Case("name-quote", data('project_name=Say "hi"'), "'project_name': must be one line"),
    Case("name-control", data("project_name=a\tb"), "'project_name': must be one line"),
    Case("slug-upper", data("project_slug=Billing"), "'project_slug': must match"),
    Case("slug-double-hyphen", data("project_slug=a--b"), "'project_slug': must match"),
    Case("slug-long", data(f"project_slug={LONG}"), "'project_slug': must be at most"),
    Case("slug-from-unicode-name", data("project_name=日本"), "'project_slug': must match"),
    Case("package-keyword", data("package_name=class"), "'package_name': must not be a Python"),
    Case("package-shadows", data("package_name=fastapi"), "must not shadow the module 'fastapi'"),
    Case("package-hyphen", data("package_name=a-b"), "'package_name': must be a lowercase"),
    Case("package-long", data(f"package_name={'p' * 19}"), "'package_name': must be at most 18"),
    Case("description-long", data(f"description={'d' * 201}"), "'description': must be at most"),
    Case("author-empty", data("author_name="), "'author_name': must not be empty"),
    Case("email-bad", data("author_email=not-an-email"), "'author_email': must be an e-mail"),
    Case("docs-on-health", data("docs_url=/health"), "'docs_url': collides with the API's route"),
    Case("openapi-on-items", data("openapi_url=/items"), "'openapi_url': collides with"),
    Case("redoc-on-token", data("redoc_url=/token"), "'redoc_url': collides with the API's route"),
    Case("docs-under-users", data("docs_url=/users/docs"), "'docs_url': collides with"),
    Case("docs-on-health-ready", data("docs_url=/health/ready"), "'docs_url': collides with"),
    Case("docs-relative", data("docs_url=docs"), "'docs_url': must be a URL path"),
    Case("docs-query", data("docs_url=/docs?x=1"), "'docs_url': must be a URL path"),
    Case("docs-is-openapi", data("docs_url=/openapi.json"), "'docs_url': must differ"),
    Case("redoc-is-docs", data("redoc_url=/docs"), "'redoc_url': must differ"),
    Case("docs-without-schema", data("openapi_url=", "docs_url=/docs"), "needs openapi_url"),
    Case("static-dot", data("static_path=/."), "'static_path': must not have '.' or '..'"),
    Case("static-dotdot", data("static_path=/.."), "'static_path': must not have '.' or '..'"),
    Case("static-escape", data("static_path=/static/../x"), "must not have '.' or '..'"),
    Case("static-on-users", data("static_path=/users"), "'static_path': collides with"),
    Case("static-on-docs", data("static_path=/docs"), "'static_path': must differ from the docs"),
    Case("static-relative", data("static_path=static"), "'static_path': must be a URL path"),
    Case("static-dir-escape", data("static_dir=../outside"), "'static_dir': must be a single"),
    Case("static-dir-src", data("static_dir=src"), "'static_dir': must not be a directory"),
    Case("markup-in-choice", data("auth=[/x]"), "'auth': '[/x]' is not"),
    Case("markup-in-slug", data("project_slug=[bold]x"), "match ^[a-z][a-z0-9]*(-[a-z0-9]+)*$"),
    Case("unknown-question", data("databse=none"), "unknown question 'databse'"),
    Case("data-without-equals", ["--data", "auth"], "--data expects KEY=VALUE, got 'auth'"),
    Case("data-empty-key", ["--data", "=x"], "--data expects KEY=VALUE, got '=x'"),
]


def data_file(id: str, content: str | bytes, message: str) -> Case:
    """A case giving answers in ``--data-file a.yml`` holding ``content``."""
    return Case(id, ["--data-file", "a.yml"], message, setup=write("a.yml", content))


DATA_FILES: list[Case] = [
    Case("data-file-missing", ["--data-file", "absent.yml"], "cannot read data file absent.yml"),
    data_file("data-file-list", "- auth\n", "data file a.yml must hold a mapping"),
    data_file("data-file-bad-yaml", "auth: [jwt\n", "cannot read data file a.yml"),
    data_file("data-file-binary", b"\xff\xfe\x00bad", "cannot read data file a.yml"),
    data_file("data-file-unknown", "nope: 1\n", "unknown question 'nope'"),
    data_file(
        "data-file-bool-number",
        "background_tasks: 2\n",
        "'background_tasks': must be true or false, not 2",
    ),
    data_file("data-file-cors-star", "cors_origins: '*'\n", "'cors_origins': '*' is not valid"),
    Case(
        "data-file-is-a-folder",
        ["--data-file", "folder"],
        "cannot read data file folder",
        setup=write("folder/x", ""),
    ),
]


def plain_folder(root: Path) -> None:
    (root / "not-a-template").mkdir()
    (root / "not-a-template/README.md").write_text("hello\n", encoding="utf-8")


ENVIRONMENT: list[Case] = [
    Case("defaults-bad-json", [], "APISEED_DEFAULTS must be a JSON object", {"DEFAULTS": "{bad"}),
    Case("defaults-list", [], "APISEED_DEFAULTS must be a JSON object", {"DEFAULTS": "[1,2]"}),
    Case("defaults-string", [], "APISEED_DEFAULTS must be a JSON object", {"DEFAULTS": '"x"'}),
    Case(
        "defaults-unknown",
        [],
        "unknown question 'nope' in APISEED_DEFAULTS",
        {"DEFAULTS": '{"nope": 1}'},
    ),
    Case(
        "defaults-bad-bool",
        [],
        "'middleware': must be true or false, not 'maybe'",
        {"DEFAULTS": '{"middleware": "maybe"}'},
    ),
    Case(
        "defaults-bad-choice",
        [],
        "invalid answer for 'auth'",
        {"DEFAULTS": '{"auth": "oauth"}'},
    ),
    Case(
        "template-without-copier-yml",
        [],
        "not-a-template: it is not a Copier template",
        {"TEMPLATE": "{root}/not-a-template"},
        plain_folder,
    ),
    Case(
        "template-missing",
        [],
        "template /nonexistent/template not found: no such folder",
        {"TEMPLATE": "/nonexistent/template"},
    ),
    Case(
        "template-unreachable-url",
        [],
        "cannot read the template repository https://git.invalid/t.git",
        {"TEMPLATE": "https://git.invalid/t.git"},
    ),
    Case(
        "template-bad-yaml",
        [],
        "copier.yml of",
        {"TEMPLATE": "{root}/broken"},
        write("broken/copier.yml", "auth: [\n"),
    ),
    Case(
        "features-template-missing",
        [],
        "template /nonexistent/template not found",
        {"TEMPLATE": "/nonexistent/template"},
        command="features",
    ),
    Case(
        "variants-bad-defaults",
        [],
        "APISEED_DEFAULTS must be a JSON object",
        {"DEFAULTS": "[1]"},
        command="variants",
    ),
    Case(
        "vcs-ref-not-bundled-offline",
        ["--vcs-ref", "v9.9.9"],
        "template v9.9.9 is not bundled with this apiseed",
    ),
]


def file_at_dest(root: Path) -> None:
    (root / "svc").write_text("a file\n", encoding="utf-8")


def full_dest(root: Path) -> None:
    (root / "svc").mkdir()
    (root / "svc/notes.txt").write_text("mine\n", encoding="utf-8")


def file_as_parent(root: Path) -> None:
    (root / "parent").write_text("a file\n", encoding="utf-8")


DESTINATIONS: list[Case] = [
    Case("dest-not-empty", [], "exists and is not an empty folder", setup=full_dest),
    Case("dest-is-a-file", [], "exists and is not an empty folder", setup=file_at_dest),
    Case(
        "dest-parent-is-a-file",
        ["DEST=parent/svc"],
        "parent is a file, not a folder",
        setup=file_as_parent,
    ),
    Case("dest-in-proc", ["DEST=/proc/apiseed/svc"], "cannot create /proc/apiseed/svc"),
    Case("no-terminal-no-defaults", ["--no-defaults"], "no terminal to ask the questions on"),
]

CASES = [*ANSWERS, *DATA_FILES, *ENVIRONMENT, *DESTINATIONS]


def tree_hash(root: Path) -> str:
    """One hash of every path below ``root``, its kind and its bytes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
        else:
            digest.update(b"<dir>" if path.is_dir() else b"<other>")
    return digest.hexdigest()


def invoke(case: Case, root: Path) -> tuple[list[str], str, int]:
    """Run the case in ``root``; the non-empty lines on stderr, stdout and the exit code."""
    env = {
        f"APISEED_{name}": value.replace("{root}", str(root)) for name, value in case.env.items()
    }
    dest = "svc"
    args = []
    defaults = ["--defaults"]
    for arg in case.args:
        if arg.startswith("DEST="):
            dest = arg.removeprefix("DEST=")
        elif arg == "--no-defaults":
            defaults = []
        else:
            args.append(arg)
    argv = ["new", dest, *defaults, *args] if case.command == "new" else [case.command, *args]
    result = runner.invoke(app, argv, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines, result.stdout, result.exit_code


@pytest.fixture
def in_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the working directory; git cannot reach any network."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for name in ("APISEED_TEMPLATE", "APISEED_DEFAULTS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_refusal_is_one_line_and_changes_nothing(case: Case, in_root: Path) -> None:
    case.setup(in_root)
    before = tree_hash(in_root)

    lines, stdout, code = invoke(case, in_root)

    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines[0]
    assert case.message in lines[0]
    assert "Traceback" not in lines[0]
    assert stdout == ""
    assert tree_hash(in_root) == before


def test_the_table_has_sixty_distinct_inputs() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 60


def test_success_hint_quotes_the_destination(in_root: Path) -> None:
    result = runner.invoke(app, ["new", "my [bold]svc", "--defaults"])

    assert result.exit_code == 0, result.output
    assert f"Created {in_root / 'my [bold]svc'}\n" in result.stdout
    assert "Next: cd 'my [bold]svc' and follow README.md\n" in result.stdout


def test_help_labels_only_options_that_take_a_value() -> None:
    result = runner.invoke(app, ["new", "--help"])

    assert "<bool>" not in result.stdout
    assert "--data KEY=VALUE" in result.stdout


def test_features_shows_defaults_as_they_are_given(in_root: Path) -> None:
    result = runner.invoke(app, ["features"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert "{{" not in result.stdout
    assert "my-service" in result.stdout
    assert '["http://localhost:3000"]' in result.stdout


# Signals need a real process: apiseed started as a user starts it, interrupted with SIGINT.
# A shell starts background jobs with SIGINT ignored, and a test run may be one: the child
# gets Python's own handler back, as in a terminal.
AS_IN_A_TERMINAL = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from apiseed.cli import app; app()"
)


def apiseed(cwd: Path, *args: str, template: Path | None = None) -> subprocess.Popen[str]:
    chosen = {"APISEED_TEMPLATE": str(template)} if template else {}
    return subprocess.Popen(
        [sys.executable, "-c", AS_IN_A_TERMINAL, *args],
        cwd=cwd,
        env={**os.environ, "GIT_ALLOW_PROTOCOL": "file", **chosen},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def slow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template whose one file takes seconds to render: an interrupt lands in the render."""
    template = tmp_path_factory.mktemp("slow")
    (template / "copier.yml").write_text(
        "_subdirectory: template\nname:\n  type: str\n  default: x\n", encoding="utf-8"
    )
    (template / "template").mkdir()
    (template / "template/slow.txt.jinja").write_text(
        "{% for i in range(100000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}done\n",
        encoding="utf-8",
    )
    return template


def test_interrupt_during_generation_leaves_nothing(in_root: Path, slow_template: Path) -> None:
    before = tree_hash(in_root)
    process = apiseed(in_root, "new", "parent/svc", "--defaults", template=slow_template)
    # Interrupt once the render has started: its staging folder exists in parent/.
    deadline = time.monotonic() + 60
    while not list(in_root.glob("parent/.apiseed-*")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == [
        "error: interrupted; parent/svc was left as it was"
    ]
    assert tree_hash(in_root) == before


def test_interrupt_after_the_project_is_in_place_keeps_it(in_root: Path) -> None:
    process = apiseed(in_root, "new", "svc", "--defaults")
    deadline = time.monotonic() + 60
    while not (in_root / "svc/README.md").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    # Wherever the interrupt lands, there is no project or a whole one, never a part of one.
    if (in_root / "svc").exists():
        assert (in_root / "svc/.copier-answers.yml").is_file(), (process.returncode, stderr)
        assert process.returncode != 0 or "Created" in stdout
    else:
        assert process.returncode == 130, stderr
