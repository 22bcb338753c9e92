"""User-facing errors.

Every problem caused by the user's input (a missing file, a malformed vector file, a dimension
mismatch, ...) is raised as :class:`UmtError`. The CLI prints its message on one line and exits
with status 2, so a user never sees a traceback for bad input.
"""


class UmtError(Exception):
    """An error whose message is meant for the user: one line naming the file and the problem."""


class DataMissingError(UmtError):
    """Shared data (corpora, dictionaries) could not be found where configuration points."""
