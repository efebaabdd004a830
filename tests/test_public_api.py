import generator

PUBLIC_NAMES = [
    "REPOSITORY",
    "ApiseedError",
    "DataFileError",
    "DestinationNotEmptyError",
    "DirtyProjectError",
    "GeneratorSettings",
    "GitError",
    "InvalidAnswerError",
    "NotAProjectError",
    "Question",
    "Report",
    "TemplateNotFoundError",
    "TemplateUnreachableError",
    "UnknownQuestionError",
    "UnknownVariantError",
    "UpdateError",
    "UpdateResult",
    "Variant",
    "bundled_template",
    "check",
    "diff",
    "generate",
    "questions",
    "render",
    "update",
    "variants",
    "working_copy",
]


def test_public_names_are_pinned() -> None:
    assert generator.__all__ == PUBLIC_NAMES


def test_every_public_name_resolves() -> None:
    for name in generator.__all__:
        assert getattr(generator, name) is not None


def test_errors_form_one_flat_hierarchy() -> None:
    errors = [getattr(generator, name) for name in PUBLIC_NAMES if name.endswith("Error")]
    for error in errors:
        assert error is generator.ApiseedError or error.__bases__ == (generator.ApiseedError,)
