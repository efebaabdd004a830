"""Every answer set apiseed accepts gives a green project; every other one is one line.

Hypothesis draws answer sets from the whole question space: free text (unicode, control
characters, edge lengths), every choice, every yes/no answer (and some that are neither),
every python_version, docs URLs and paths that are valid, colliding or malformed. Each set is
given to ``apiseed.generate``: either it is refused with an ``ApiseedError`` of one line, or
the project it makes passes apiseed's own checks (``apiseed.check``: files, ruff, deps,
mypy, its own tests, wheel), run once over all the accepted sets.

The budget is fixed and the examples derandomized, so every CI run checks the same sets;
``APISEED_HYPOTHESIS_EXAMPLES`` raises it for a longer local search. Sets that once failed are
kept in ``REGRESSIONS`` and checked on every run too.
"""

import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apiseed import ApiseedError, Variant, check, generate, questions
from apiseed.matrix.pool import default_jobs

EXAMPLES = int(os.environ.get("APISEED_HYPOTHESIS_EXAMPLES", "25"))
POSTGRES = bool(os.environ.get("APISEED_POSTGRES_URL"))

# Answer sets that broke a generated project when they were found, kept as explicit cases.
REGRESSIONS: list[dict[str, Any]] = [
    # ruff's RUF002: a letter of another script in the package's docstring read as a typo.
    {"project_name": "\xd3\xc3u\xf9%\U000703f9\xb8", "project_slug": "u", "middleware": False},
    # An empty description left "My Service: " in a docstring that ruff format trims.
    {"description": "", "auth": "none", "database": "none", "static_files": False},
    # Long answers made lines that ruff format splits (the test of the docs' contact).
    {
        "author_name": "Hal 4ECga RRj5 vNCfgbV3",
        "author_email": "B@E.AcPjHcMMxSOKW-PUX3mqT.lLc",
        "openapi_url": "/o" * 13 + "/openapi.json",
        "docs_url": "/d" * 13 + "/docs",
        "redoc_url": "/r" * 13 + "/redoc",
        "static_path": "/s" * 20,
        "auth": "jwt",
        "database": "sqlite",
    },
    # The longest package name, in every import of every feature (24 characters were too many
    # for some imports and the PostgreSQL URL).
    {"project_slug": "a" * 18, "auth": "jwt", "database": "postgresql" if POSTGRES else "sqlite"},
    {"project_slug": "b" * 18, "auth": "api_key", "database": "none"},
]


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An answer, or None for "leave it to its default" (as often as not)."""
    return st.one_of(st.none(), strategy)


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a valid answer, sometimes any other: most sets are accepted and checked."""
    return st.one_of(valid, valid, valid, valid, other)


def matching(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


# Any text (no lone surrogates: they cannot be written to a file), and one line of it that
# the text questions accept: unicode letters, symbols and spaces, no quotes or backslashes.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=90)
LINE = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters='"\\'),
    min_size=1,
    max_size=80,
).filter(str.strip)
NAMES = mostly(matching(r"[A-Z][a-z]{0,10}( [A-Za-z0-9]{1,8}){0,3}"), st.one_of(LINE, TEXT))
BOOLS = mostly(st.booleans(), st.sampled_from(["yes", "off", "maybe", "2", 1, None]))
URL_PATHS = mostly(
    st.one_of(st.just(""), matching(r"(/[A-Za-z0-9._~-]{1,12}){1,3}")),
    st.one_of(
        st.sampled_from(["/health", "/items/x", "/users", "/token", "/.", "/a/../b", "/docs"]),
        st.text(max_size=20),
    ),
)
ORIGINS = mostly(
    st.lists(matching(r"https?://[a-z]{1,10}(\.[a-z]{2,5}){0,2}(:[0-9]{1,5})?"), max_size=3),
    st.lists(
        st.one_of(
            st.sampled_from(["*", "http://a.example.com/path", "ftp://x.io"]), st.text(max_size=15)
        ),
        min_size=1,
        max_size=3,
    ),
)


@st.composite
def answer_sets(draw: st.DrawFn, template: Path) -> dict[str, Any]:
    choices = {question.name: question.choices for question in questions(template)}
    databases = [name for name in choices["database"] if POSTGRES or name != "postgresql"]
    drawn: dict[str, Any] = {
        "project_name": draw(maybe(NAMES)),
        "project_slug": draw(
            maybe(mostly(matching(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5}){0,3}"), TEXT))
        ),
        "package_name": draw(maybe(mostly(matching(r"[a-z][a-z0-9_]{0,20}"), TEXT))),
        "description": draw(maybe(mostly(LINE, st.text(max_size=210)))),
        "author_name": draw(maybe(NAMES)),
        "author_email": draw(
            maybe(mostly(matching(r"[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,12}\.[a-z]{2,6}"), st.emails()))
        ),
        "python_version": draw(st.sampled_from(choices["python_version"])),
        "auth": draw(st.sampled_from(choices["auth"])),
        "database": draw(st.sampled_from(databases)),
        "cors_origins": draw(maybe(ORIGINS)),
        "middleware": draw(BOOLS),
        "background_tasks": draw(BOOLS),
        "static_files": draw(BOOLS),
        "openapi_url": draw(maybe(URL_PATHS)),
        "docs_url": draw(maybe(URL_PATHS)),
        "redoc_url": draw(maybe(URL_PATHS)),
        "static_path": draw(maybe(URL_PATHS)),
        "static_dir": draw(
            maybe(mostly(matching(r"[a-z0-9][a-z0-9_-]{0,12}"), st.text(max_size=12)))
        ),
    }
    return {name: value for name, value in drawn.items() if value is not None}


def features(answers: dict[str, Any]) -> frozenset[str]:
    """The features a project's recorded answers turn on (see apiseed.matrix.variants)."""
    found = {name for name in ("middleware", "background_tasks", "static_files") if answers[name]}
    if answers["cors_origins"]:
        found.add("cors")
    for name in ("auth", "database"):
        if answers[name] != "none":
            found |= {name, f"{name}:{answers[name]}"}
    return frozenset(found)


def test_every_accepted_answer_set_gives_a_green_project(template: Path, tmp_path: Path) -> None:
    accepted: list[dict[str, Any]] = []
    refusals: list[str] = []

    def classify(answers: dict[str, Any]) -> None:
        dest = tmp_path / "projects" / str(len(accepted)) / "service"
        try:
            generate(template, dest, answers, defaults=True)
        except ApiseedError as error:
            refusals.append(str(error))
            return
        recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
        accepted.append({k: v for k, v in recorded.items() if not k.startswith("_")})

    for answers in REGRESSIONS:
        classify(answers)
    search = settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )(given(answer_sets(template))(classify))
    search()

    print(f"answer space: {len(accepted)} accepted, {len(refusals)} refused")
    for line in refusals:
        print("REFUSED", line[:110])
    assert [line for line in refusals if "\n" in line or not line.strip()] == []
    assert not (tmp_path / "projects").exists() or len(list(tmp_path.glob("projects/*"))) == len(
        accepted
    )
    assert accepted, "no drawn answer set was accepted: the strategies need valid answers"
    variants = [
        Variant(f"drawn-{index}", answers, features(answers))
        for index, answers in enumerate(accepted)
    ]
    report = check(template, variants, jobs=default_jobs())
    failed = {
        outcome.variant.id: (outcome.failure, outcome.variant.answers)
        for outcome in report.failures
    }
    assert not failed, "\n".join(
        f"{name}: {failure.step}: {failure.message}\n  answers: {answers!r}"
        for name, (failure, answers) in failed.items()
        if failure is not None
    )
