"""apiseed's errors: one flat hierarchy, each message a single line naming what was wrong."""


class ApiseedError(Exception):
    """Base of every error apiseed reports to its user."""


class TemplateNotFoundError(ApiseedError):
    """The template source has no copier.yml."""


class UnknownQuestionError(ApiseedError):
    """An answer was given for a question the template does not ask."""


class InvalidAnswerError(ApiseedError):
    """An answer broke its question's rule."""

    def __init__(self, question: str, rule: str) -> None:
        super().__init__(f"invalid answer for '{question}': {rule}")
        self.question = question
        self.rule = rule


class DestinationNotEmptyError(ApiseedError):
    """The destination of a new project already holds files."""


class UnknownVariantError(ApiseedError):
    """A variant id, tier, shard or format that the variant matrix does not have."""


class DataFileError(ApiseedError):
    """A --data or --data-file value could not be read."""


class GitError(ApiseedError):
    """A git command failed."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class TemplateUnreachableError(ApiseedError):
    """The template version asked for cannot be read: not bundled, and its source unreachable."""


class NotAProjectError(ApiseedError):
    """The folder is not a generated project under git that can be updated."""


class DirtyProjectError(ApiseedError):
    """The project has uncommitted changes, so an update could not be undone or reviewed."""


class UpdateError(ApiseedError):
    """Copier refused or failed the update; the project was left as it was."""
