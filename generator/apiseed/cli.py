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


@app.command()
def update(
    project: ProjectArgument = Path(),
    to: ToOption = None,
    data: DataOption = None,
    data_file: DataFileOption = None,
    trust: TrustOption = False,
) -> None:
    """Update PROJECT to a newer template version, changing answers with --data on the way."""
    from apiseed.console import console, interactive
    from apiseed.errors import ApiseedError
    from apiseed.project.answers import parse_data
    from apiseed.project.update import update as run_update
    from apiseed.settings import load_settings

    try:
        answers = parse_data(data or [], data_file)
        user_defaults = load_settings().defaults
        with console().status("Updating…") if interactive() else nullcontext():
            result = run_update(project, answers, to=to, trust=trust, user_defaults=user_defaults)
    except ApiseedError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted; {project} was left as it was", INTERRUPTED) from None
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
) -> None:
    """List the template's variants: every combination of its feature answers."""
    import json

    from apiseed.console import console
    from apiseed.errors import ApiseedError
    from apiseed.matrix.variants import axes, github_matrix, python_axis

    try:
        template = _template()
        selected = _select(template, tier, None, shard)
        if output == "github":
            print(github_matrix(selected, tier, shards))
        elif output == "json":
            print(json.dumps([variant.as_json() for variant in selected], indent=2))
        elif output == "table":
            from rich.table import Table

            matrix = axes(template)
            default = python_axis(template).default.label or "default"
            table = Table("id", *(axis.name for axis in matrix), "python")
            for variant in selected:
                labels = variant.id.split("-")
                python = labels[len(matrix)] if len(labels) > len(matrix) else default
                table.add_row(variant.id, *labels[: len(matrix)], python)
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
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="Keep passing verdicts in this folder; skip variants whose tree and toolchain "
            "passed before.",
        ),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write a JSON report to this file.")
    ] = None,
) -> None:
    """Render variants and check each: residue, files, ruff, deps, mypy, tests, wheel."""
    from apiseed.console import console, error_console
    from apiseed.errors import ApiseedError
    from apiseed.matrix.pool import default_jobs
    from apiseed.matrix.report import Display, print_report, write_json, write_junit

    try:
        template = _template()
        selected = _select(template, tier, ids, shard)
        if jobs is not None and jobs < 1:
            raise ApiseedError(f"--jobs must be at least 1, got {jobs}")
        if fresh and fuzz:
            raise ApiseedError("--fuzz goes with the shared-environment check, not --fresh")
        if fresh and cache is not None:
            raise ApiseedError("--cache goes with the shared-environment check, not --fresh")
        results = None
        if cache is not None:
            from apiseed.matrix.cache import ResultCache, toolchain

            results = ResultCache(cache, toolchain(fuzz=fuzz))
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
                    cache=results,
                )
    except ApiseedError as error:
        raise fail(error) from None
    print_report(console(), report)
    if junit is not None:
        write_junit(report, junit)
    if json_file is not None:
        write_json(report, json_file)
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
) -> None:
    """Show which variants a template change alters, and how: files per variant and feature."""
    from apiseed.console import console, interactive
    from apiseed.errors import ApiseedError
    from apiseed.matrix.impact import impact as run_impact
    from apiseed.matrix.pool import default_jobs

    try:
        if jobs is not None and jobs < 1:
            raise ApiseedError(f"--jobs must be at least 1, got {jobs}")
        with console().status("Rendering…") if interactive() and not as_json else nullcontext():
            found = run_impact(
                _template(),
                before,
                after,
                lambda template: _select(template, tier, ids, None),
                jobs=jobs or default_jobs(),
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


def _template() -> Path:
    from apiseed.settings import load_settings
    from apiseed.template import bundled_template

    settings = load_settings()
    return Path(settings.template) if settings.template else bundled_template()
