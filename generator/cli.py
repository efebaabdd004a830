"""The ``apiseed`` command. Heavy modules are imported inside each command, so it starts fast."""

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="apiseed",
    help="Generate complete, tested FastAPI services from the apiseed Copier template.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DataOption = Annotated[
    list[str] | None,
    typer.Option("--data", "-d", help="Answer a question: KEY=VALUE (repeatable)."),
]
DataFileOption = Annotated[
    Path | None,
    typer.Option("--data-file", help="YAML file of answers; --data wins over it."),
]


def fail(error: Exception) -> typer.Exit:
    from generator._console import error_console

    error_console().print(f"[bold red]error:[/] {error}", markup=True)
    return typer.Exit(code=1)


@app.command()
def new(
    dest: Annotated[Path, typer.Argument(help="Folder to create (must be empty or absent).")],
    data: DataOption = None,
    data_file: DataFileOption = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use defaults for every unanswered question.")
    ] = False,
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="Template git ref, when it is a repository.")
    ] = None,
) -> None:
    """Generate a new FastAPI project into DEST."""
    from generator._answers import parse_data
    from generator._console import console, interactive
    from generator._errors import ApiseedError
    from generator._render import generate
    from generator._settings import GeneratorSettings
    from generator._template import bundled_template

    try:
        settings = GeneratorSettings()
        template = Path(settings.template) if settings.template else bundled_template()
        answers = parse_data(data or [], data_file)
        if not defaults and not interactive():
            raise ApiseedError("no terminal to ask the questions on: pass --defaults or --data")
        # A spinner on a terminal, unless Copier is about to ask its questions there.
        spinner = defaults and interactive()
        with console().status("Generating…") if spinner else nullcontext():
            project = generate(
                template,
                dest,
                answers,
                defaults=defaults,
                user_defaults=settings.defaults,
                vcs_ref=vcs_ref,
                quiet=defaults,
            )
    except ApiseedError as error:
        raise fail(error) from None
    console().print(f"Created {project}")
    console().print(f"Next: cd {dest} and follow README.md")


@app.command()
def features() -> None:
    """List the template's questions with their help text, choices and defaults."""
    from rich.table import Table

    from generator._console import console
    from generator._errors import ApiseedError
    from generator._settings import GeneratorSettings
    from generator._template import bundled_template, questions

    try:
        settings = GeneratorSettings()
        template = Path(settings.template) if settings.template else bundled_template()
        found = questions(template)
    except ApiseedError as error:
        raise fail(error) from None
    table = Table("question", "type", "default", "choices", "help")
    for question in found:
        table.add_row(
            question.name,
            question.type,
            str(question.default),
            " / ".join(question.choices),
            question.help,
        )
    console().print(table)
