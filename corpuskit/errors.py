"""Errors that name where they happened, so a user never has to read a traceback to find bad input."""

from __future__ import annotations


class CorpusError(Exception):
    """Base class for every error corpuskit raises on purpose."""


class ConfigError(CorpusError, ValueError):
    """A pipeline or step configuration is invalid; the message names the file and key.

    A ValueError too, so parameter validators can raise it and pydantic reports it with its key.
    """


class InputError(CorpusError):
    """A bad input record: names the file and the line (JSONL, text) or record (Parquet, WARC)."""

    def __init__(self, path: str, where: str, message: str):
        self.path = path
        self.where = where
        self.message = message
        super().__init__(f"{path}:{where}: {message}")


class StrictModeError(CorpusError):
    """Raised in --strict mode at the first quarantined record."""
