"""The one exception tree of invrisk, and its named warnings.

::

    InvriskError
    ├── InvalidArgumentError          (also a ValueError) a public function got a bad value
    │   └── InstrumentNameError       an instrument name or symbol does not parse
    ├── DataError                     a data file is unreadable or has a defect
    ├── ConvergenceError              a numerical method did not converge
    ├── RateLimitError                a venue refused a request for its rate limit
    └── VenueError                    a venue failed or refused a request (venue named)
        ├── CredentialsError          credentials missing, misplaced or refused (never shown)
        └── VenueConnectionError      (also a ConnectionError) the link to the venue is down

    InvriskWarning (UserWarning)
    └── DataWarning                   a non-fatal defect in a data file (row named)

Every error names what was wrong: the argument, the value and the allowed range, or for data
files the file and the row. Third-party exceptions are translated at the boundary with
``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceError",
    "CredentialsError",
    "DataError",
    "DataWarning",
    "InstrumentNameError",
    "InvalidArgumentError",
    "InvriskError",
    "InvriskWarning",
    "RateLimitError",
    "VenueConnectionError",
    "VenueError",
]


class InvriskError(Exception):
    """Base class of every error raised by invrisk."""


class InvalidArgumentError(InvriskError, ValueError):
    """A public function received an argument outside its allowed range.

    Parameters
    ----------
    argument
        The argument's name as the caller spelled it.
    value
        The offending value (or a short description of it for arrays).
    allowed
        The allowed range or form, in words.
    """

    def __init__(self, argument: str, value: object, allowed: str) -> None:
        self.argument = argument
        self.value = value
        self.allowed = allowed
        super().__init__(f"{argument}={value!r} is invalid: expected {allowed}")


class InstrumentNameError(InvalidArgumentError):
    """An instrument name or symbol does not parse; the message shows the expected form."""


class DataError(InvriskError):
    """A data file cannot be read or has a defect. The message names the file and the row."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None) -> None:
        self.path = path
        self.row = row
        where = ""
        if path is not None:
            where = f"{path}"
            if row is not None:
                where += f", row {row}"
            where += ": "
        super().__init__(where + message)


class ConvergenceError(InvriskError):
    """A numerical method did not reach its tolerance."""


class RateLimitError(InvriskError):
    """A venue (or gateway) refused a request for exceeding its rate limit; retry later.

    ``retry_after_s`` is the venue's hint when it gives one (None otherwise)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class VenueError(InvriskError):
    """A trading venue failed or refused a request; the message names the venue (and never
    holds an API key or secret)."""


class CredentialsError(VenueError):
    """A venue's API credentials are missing, stored where they must not be (inside a
    repository), unreadable, or refused by the venue. The message says where they were looked
    for, never their value."""


class VenueConnectionError(VenueError, ConnectionError):
    """The link to the venue is down: the request was not sent (the runtime halts on it)."""


class InvriskWarning(UserWarning):
    """Base class of invrisk's named warnings."""


class DataWarning(InvriskWarning):
    """A non-fatal defect in a data file (the message names the file and row)."""
