"""The ``apiseed`` command. Heavy modules are imported inside each command, so it starts fast."""

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from apiseed.matrix.variants import Variant
    from apiseed.project.update import UpdateResult

app = typer.Typer(
    name="apiseed",
    help="Generate complete, tested FastAPI services from the apiseed Copier template.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

DataOption = Annotated[
    list[str] | None,
    typer.Option(
        "--data", "-d", metavar="KEY=VALUE", help="Answer a question: KEY=VALUE (repeatable)."
    ),
]
DataFileOption = Annotated[
    Path | None,
    typer.Option("--data-file", metavar="FILE", help="YAML file of answers; --data wins over it."),
]
ProjectArgument = Annotated[
    Path,
    typer.Argument(metavar="PROJECT", help="The generated project (a committed git repository)."),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to", metavar="REF", help="Template version (tag or commit); default: the newest release."
    ),
]
TrustOption = Annotated[
    bool,
    typer.Option("--trust", help="Allow the template's migration commands (_migrations) to run."),
]


def fail(error: Exception | str, code: int = 1) -> typer.Exit:
    """Report ``error`` in one line on stderr (its text as it is, never read as markup)."""
    from rich.text import Text

    from apiseed.console import error_console

    message = " ".join(str(error).split())
    error_console().print(Text.assemble(("error:", "bold red"), " ", message))
    return typer.Exit(code=code)


def say(text: str) -> None:
    """Print a line holding user text (paths, answers) on stdout, never read as markup."""
    from apiseed.console import console

    console().print(text, markup=False)


INTERRUPTED = 130  # the shell's status for a command ended by SIGINT


@app.command()
def new(
    dest: Annotated[
        Path, typer.Argument(metavar="DEST", help="Folder to create (must be empty or absent).")
    ],
    data: DataOption = None,
    data_file: DataFileOption = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use defaults for every unanswered question.")
    ] = False,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", metavar="REF", help="Template git ref, when it is a repository."),
    ] = None,
) -> None:
    """Generate a new FastAPI project into DEST."""
    import shlex
    import signal

    from apiseed.console import console, interactive
    from apiseed.errors import ApiseedError
    from apiseed.project.answers import parse_data
    from apiseed.project.render import generate
    from apiseed.settings import load_settings

    try:
        settings = load_settings()
        answers = parse_data(data or [], data_file)
        if not defaults and not interactive():
            raise ApiseedError("no terminal to ask the questions on: pass --defaults or --data")
        # A spinner on a terminal, unless Copier is about to ask its questions there.
        spinner = defaults and interactive()
        with console().status("Generating…") if spinner else nullcontext():
            project = generate(
                settings.template,
                dest,
                answers,
                defaults=defaults,
                user_defaults=settings.defaults,
                vcs_ref=vcs_ref,
                quiet=defaults,
            )
    except ApiseedError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted; {dest} was left as it was", INTERRUPTED) from None
    # The project is complete and in place: an interrupt from now on, up to the process's
    # exit, would only lose these lines (and end the process as killed), so it is ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    say(f"Created {project}")
    say(f"Next: cd {shlex.quote(str(dest))} and follow README.md")


@app.command()
def features() -> None:
    """List the template's questions with their help text, choices and defaults."""
    from rich.table import Table
    from rich.text import Text

    from apiseed.console import console
    from apiseed.errors import ApiseedError
    from apiseed.project.source import resolve
    from apiseed.settings import load_settings
    from apiseed.template import shown_defaults

    try:
        found = resolve(load_settings().template, None).questions()
    except ApiseedError as error:
        raise fail(error) from None
    table = Table("question", "type", "default", "choices", "help")
    table.columns[2].overflow = "fold"
    for question, default in zip(found, shown_defaults(found), strict=True):
        cells = (question.name, question.type, default, " / ".join(question.choices), question.help)
        table.add_row(*(Text(cell) for cell in cells))
    console().print(table)


# The fleet: `apiseed status` and `apiseed update` of several projects (apiseed.project.fleet).
ProjectsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="PROJECT",
        help="Generated projects (folders), or @FILE listing them one per line.",
        show_default=False,
    ),
]
FromFileOption = Annotated[
    Path | None,
    typer.Option("--from-file", metavar="FILE", help="A file listing projects, one per line."),
]
JobsOption = Annotated[
    int | None,
    typer.Option("--jobs", "-j", help="Projects handled at once (default: CPU count, at most 4)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _project_paths(projects: "list[str] | None", from_file: Path | None) -> "list[Path]":
    from apiseed.errors import ApiseedError
    from apiseed.project.fleet import read_paths

    paths = read_paths(projects or [], from_file)
    if not paths and (projects or from_file is not None):
        raise ApiseedError("the list of projects is empty")
    return paths


def _jobs(jobs: int | None) -> int:
    from apiseed.errors import ApiseedError
    from apiseed.project.fleet import default_jobs

    if jobs is not None and jobs < 1:
        raise ApiseedError(f"--jobs must be at least 1, got {jobs}")
    return jobs or default_jobs()


@app.command()
def status(
    projects: ProjectsArgument = None,
    from_file: FromFileOption = None,
    jobs: JobsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show each project's template version, newer release, answers and drift from what they
    render; exit status 1 when any project is behind or cannot be read."""
    import json

    from apiseed.console import console, error_console
    from apiseed.errors import ApiseedError
    from apiseed.project.fleet import status_table, statuses

    try:
        found = statuses(_project_paths(projects, from_file) or [Path()], jobs=_jobs(jobs))
    except ApiseedError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing was changed", INTERRUPTED) from None
    if as_json:
        print(json.dumps([each.as_json() for each in found], indent=2))
    else:
        console().print(status_table(found))
        for each in found:
            if each.error:
                where = "" if str(each.path) in each.error else f"{each.path}: "
                error_console().print(f"error: {where}{each.error}", markup=False)
    if not all(each.ok for each in found):
        raise typer.Exit(code=1)


def _update_fleet(
    paths: "list[Path]",
    answers: "dict[str, object]",
    to: str | None,
    trust: bool,
    user_defaults: "dict[str, object]",
    jobs: int | None,
    as_json: bool,
) -> None:
    """Update every project on a branch of its own; a summary table (or JSON) at the end."""
    import json

    from apiseed.console import console
    from apiseed.project.fleet import update_all, update_table

    results = update_all(
        paths or [Path()],
        answers,
        jobs=_jobs(jobs),
        to=to,
        trust=trust,
        user_defaults=user_defaults,
    )
    if as_json:
        print(json.dumps([result.as_json() for result in results], indent=2))
    else:
        console().print(update_table(results))
    if any(result.outcome in ("conflicts", "failed") for result in results):
        raise typer.Exit(code=1)


@app.command()
def update(
    projects: ProjectsArgument = None,
    to: ToOption = None,
    data: DataOption = None,
    data_file: DataFileOption = None,
    trust: TrustOption = False,
    from_file: FromFileOption = None,
    branch: Annotated[
        bool,
        typer.Option(
            "--branch",
            help="Commit each update to a new branch apiseed/update-<version>, leaving the "
            "checkout alone (implied by several projects).",
        ),
    ] = False,
    jobs: JobsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Update PROJECT to a newer template version, changing answers with --data on the way;
    several projects (or --branch) are updated in parallel, each on a new branch."""
    from apiseed.console import console, interactive
    from apiseed.errors import ApiseedError
    from apiseed.project.answers import parse_data
    from apiseed.project.update import update as run_update
    from apiseed.settings import load_settings

    try:
        answers = parse_data(data or [], data_file)
        user_defaults = load_settings().defaults
        paths = _project_paths(projects, from_file)
        listed = from_file is not None or any(name.startswith("@") for name in projects or [])
        if branch or listed or len(paths) > 1:
            _update_fleet(paths, answers, to, trust, user_defaults, jobs, as_json)
            return
        if as_json:
            raise ApiseedError("--json goes with --branch or several projects")
        project = paths[0] if paths else Path()
        with console().status("Updating…") if interactive() else nullcontext():
            result = run_update(project, answers, to=to, trust=trust, user_defaults=user_defaults)
    except ApiseedError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        where = ", ".join(projects or ["."])
        raise fail(f"interrupted; {where} was left as it was", INTERRUPTED) from None
    say(f"Updated {result.project} from {result.from_ref} to {result.to_ref}")
    say(f"{len(result.changed)} files changed: review them with git diff, then commit")
    report(result)
    if not result.clean:
        raise typer.Exit(code=1)


@app.command()
def diff(
    project: ProjectArgument = Path(),
    to: ToOption = None,
    data: DataOption = None,
    data_file: DataFileOption = None,
    trust: TrustOption = False,
) -> None:
    """Show what `apiseed update` would change in PROJECT's last commit, changing nothing."""
    from apiseed.console import console
    from apiseed.errors import ApiseedError
    from apiseed.project.answers import parse_data
    from apiseed.project.diff import diff as run_diff
    from apiseed.settings import load_settings

    try:
        answers = parse_data(data or [], data_file)
        patch, result = run_diff(
            project,
            answers,
            to=to,
            trust=trust,
            user_defaults=load_settings().defaults,
            color=console().is_terminal,
        )
    except ApiseedError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing was changed", INTERRUPTED) from None
    typer.echo(patch, nl=False)
    report(result)


def report(result: "UpdateResult") -> None:
    """List, on stderr, the files an update leaves for the user to resolve or look at."""
    from apiseed.console import error_console

    for name in result.conflicts:
        error_console().print(f"conflict: {name} (resolve the <<<<<<< markers)", markup=False)
    for name in result.kept:
        error_console().print(
            f"conflict: {name} (the new version removes it; you changed it)", markup=False
        )
    for name in result.local:
        error_console().print(
            f"kept: {name} (git-ignored; the new version no longer makes it: "
            "delete it if you do not need it)",
            markup=False,
        )


TierOption = Annotated[
    str, typer.Option("--tier", "-t", help="Variants to use: full, pairwise or smoke.")
]
ShardOption = Annotated[
    str | None, typer.Option("--shard", help="Only shard I/N of the selection, e.g. 2/4.")
]
TemplateOption = Annotated[
    Path | None,
    typer.Option(
        "--template",
        metavar="PATH",
        help="A Copier template folder declaring its matrix (matrix.yml); default: apiseed's.",
    ),
]


@app.command()
def variants(
    tier: TierOption = "full",
    output: Annotated[
        str, typer.Option("--format", "-f", help="table, json, or github (a strategy.matrix).")
    ] = "table",
    shards: Annotated[
        int, typer.Option("--shards", help="With --format github: how many shards.")
    ] = 4,
    shard: ShardOption = None,
    template_path: TemplateOption = None,
) -> None:
    """List the template's variants: every combination of its feature answers."""
    import json

    from apiseed.console import console
    from apiseed.errors import ApiseedError
    from apiseed.matrix.variants import axes, github_matrix, python_axis

    try:
        template = _template(template_path)
        selected = _select(template, tier, None, shard)
        if output == "github":
            print(github_matrix(selected, tier, shards))
        elif output == "json":
            print(json.dumps([variant.as_json() for variant in selected], indent=2))
        elif output == "table":
            from rich.table import Table

            matrix = axes(template)
            pythons = len(python_axis(template).choices) > 1
            table = Table("id", *(axis.name for axis in matrix), *(["python"] if pythons else []))
            for variant in selected:
                labels = variant.id.split("-")
                python = labels[len(matrix) :] or ["default"]
                table.add_row(variant.id, *labels[: len(matrix)], *(python if pythons else []))
            console().print(table)
            console().print(f"{len(selected)} variants ({tier})")
        else:
            raise ApiseedError(f"unknown --format {output!r}; use table, json or github")
    except ApiseedError as error:
        raise fail(error) from None


@app.command()
def check(
    tier: TierOption = "full",
    ids: Annotated[
        str | None, typer.Option("--ids", help="Comma-separated variant ids instead of a tier.")
    ] = None,
    shard: ShardOption = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes (default: CPU count).")
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write a JUnit XML report to this file.")
    ] = None,
    json_report: Annotated[
        Path | None, typer.Option("--json", help="Write a JSON report to this file.")
    ] = None,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Copy failing variants' trees into this folder.")
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Install each variant into its own clean venv and run its tests."
        ),
    ] = False,
    fuzz: Annotated[
        bool,
        typer.Option(
            "--fuzz", help="Also fuzz each variant's API with schemathesis (every check)."
        ),
    ] = False,
    client: Annotated[
        bool,
        typer.Option(
            "--client",
            help="Also drive each variant's API through a client that openapi-python-client "
            "generates from its schema: every declared response, no other.",
        ),
    ] = False,
    template_path: TemplateOption = None,
    no_accel: Annotated[
        bool,
        typer.Option(
            "--no-accel",
            envvar="APISEED_NO_ACCEL",
            help="Run without the accelerators (patches of Jinja and Copier).",
        ),
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Keep passing verdicts in this folder; skip variants whose tree and toolchain "
            "passed before.",
        ),
    ] = None,
) -> None:
    """Render variants and check each: residue, files, ruff, deps, mypy, tests, wheel."""
    from apiseed.console import console, error_console
    from apiseed.errors import ApiseedError
    from apiseed.matrix import accel, extra
    from apiseed.matrix.declaration import client_test, matrix
    from apiseed.matrix.pool import default_jobs
    from apiseed.matrix.report import Display, print_report, write_json, write_junit

    try:
        extra.require()
        template = _template(template_path)
        selected = _select(template, tier, ids, shard)
        if jobs is not None and jobs < 1:
            raise ApiseedError(f"--jobs must be at least 1, got {jobs}")
        for option, given in (("--fuzz", fuzz), ("--client", client), ("--cache", cache)):
            if fresh and given:
                raise ApiseedError(f"{option} goes with the shared-environment check, not --fresh")
        results = None
        if cache is not None:
            from apiseed.matrix.cache import ResultCache, toolchain

            results = ResultCache(cache, toolchain(template, fuzz=fuzz, client=client))
        if fuzz and matrix(template).fuzz_test is None:
            raise ApiseedError(f"--fuzz: the matrix of {template} declares no fuzz test")
        if client:
            client_test(template)  # declared, and there
        accelerators = {} if fresh else accel.plan(not no_accel)
        for warning in accel.warnings(accelerators):
            error_console().print(f"[bold yellow]warning:[/] {warning}", highlight=False)
        with Display(console(), len(selected)) as display:
            if fresh:
                from apiseed.matrix.fresh import fresh as run

                report = run(
                    template, selected, jobs=jobs or default_jobs(), keep=keep, progress=display
                )
            else:
                from apiseed.matrix.check import check

                report = check(
                    template,
                    selected,
                    jobs=jobs or default_jobs(),
                    keep=keep,
                    progress=display,
                    fuzz=fuzz,
                    client=client,
                    cache=results,
                    accelerators=accelerators,
                )
    except ApiseedError as error:
        raise fail(error) from None
    print_report(console(), report)
    if junit is not None:
        write_junit(report, junit)
    if json_report is not None:
        write_json(report, json_report)
    if report.failures:
        error_console().print(f"[bold red]{len(report.failures)} variant(s) failed[/]")
        raise typer.Exit(code=1)


@app.command()
def impact(
    before: Annotated[
        str, typer.Option("--from", metavar="REF", help="The template's revision before.")
    ],
    after: Annotated[
        str | None,
        typer.Option("--to", metavar="REF", help="The revision after; default: the working tree."),
    ] = None,
    tier: TierOption = "full",
    ids: Annotated[
        str | None, typer.Option("--ids", help="Comma-separated variant ids instead of a tier.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes (default: CPU count).")
    ] = None,
    template_path: TemplateOption = None,
) -> None:
    """Show which variants a template change alters, and how: files per variant and feature."""
    from apiseed.console import console, interactive
    from apiseed.errors import ApiseedError
    from apiseed.matrix import accel
    from apiseed.matrix.impact import impact as run_impact
    from apiseed.matrix.pool import default_jobs

    try:
        if jobs is not None and jobs < 1:
            raise ApiseedError(f"--jobs must be at least 1, got {jobs}")
        with console().status("Rendering…") if interactive() and not as_json else nullcontext():
            found = run_impact(
                _template(template_path),
                before,
                after,
                lambda template: _select(template, tier, ids, None),
                jobs=jobs or default_jobs(),
                accelerators=tuple(n for n, state in accel.plan().items() if state == accel.ON),
            )
    except ApiseedError as error:
        raise fail(error) from None
    if as_json:
        import json

        print(json.dumps(found.as_json(), indent=2))
    else:
        from apiseed.matrix.impact import print_impact

        print_impact(console(), found)


def _select(template: Path, tier: str, ids: str | None, shard: str | None) -> "Sequence[Variant]":
    from apiseed.matrix.variants import by_ids, parse_shard
    from apiseed.matrix.variants import shard as select_shard
    from apiseed.matrix.variants import variants as select_tier

    selected = by_ids(template, ids.split(",")) if ids else select_tier(template, tier)
    return selected if shard is None else select_shard(selected, *parse_shard(shard))


def _template(given: Path | None) -> Path:
    """The template folder to enumerate: --template, APISEED_TEMPLATE or apiseed's own."""
    from apiseed.errors import TemplateNotFoundError
    from apiseed.settings import load_settings
    from apiseed.template import bundled_template

    if given is not None:
        if not (given / "copier.yml").is_file():
            raise TemplateNotFoundError(f"--template {given}: no copier.yml in it")
        return given.resolve()
    settings = load_settings()
    return Path(settings.template) if settings.template else bundled_template()
