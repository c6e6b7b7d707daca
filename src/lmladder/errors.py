"""Errors a user can cause. Each message says what is wrong and how to fix it."""


class LmladderError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(LmladderError, ValueError):
    """A parameter or catalog entry has a value the project cannot use."""


class DataSourceError(LmladderError):
    """Raw data could not be read into the expected shape."""


class EmptyCorpusError(DataSourceError):
    """A corpus source yielded no documents."""


class MissingColumnError(DataSourceError, KeyError):
    """A tabular source lacks a column the configuration names."""

    def __str__(self) -> str:  # KeyError would otherwise print the message quoted
        return str(self.args[0]) if self.args else ""


class UnknownLabelError(DataSourceError):
    """A labelled source holds labels outside the declared label set."""


class InvalidEncodingError(DataSourceError):
    """A text source holds more invalid UTF-8 than the configured tolerance."""


class FilteredOutError(LmladderError):
    """Cleaning or filtering removed every document."""


class CorruptFileError(LmladderError):
    """A file the project wrote earlier is truncated or does not match its metadata."""


class TrainingDivergedError(LmladderError):
    """The training loss became NaN or infinite: training stops at once, nothing is registered."""


class DataValidationError(LmladderError):
    """A Great Expectations suite failed; ``report`` holds the full validation report."""

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report


class StaleDataError(LmladderError):
    """Processed data changed since it was validated, or its parts come from different processing runs."""
