"""One family of failures the use cases raise; web maps each to one HTTP code."""

from __future__ import annotations


class QimatchError(Exception):
    message = "error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class NotFound(QimatchError):
    message = "not found"


class Unavailable(QimatchError):
    """A service the use case needs (the database, the broker) is not answering; try again shortly."""

    message = "a service qimatch needs is not answering; please try again in a minute"


class Forbidden(QimatchError):
    message = "not allowed"


class Conflict(QimatchError):
    message = "state conflict"


class Concurrent(Conflict):
    """Someone else changed the same thing at the same moment; trying again is safe."""

    message = "changed by someone else at the same moment; please try again"


class Duplicate(Conflict):
    """The same thing a second time where there may be only one; ``field`` names what repeats."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Unauthorised(QimatchError):
    message = "not signed in"


class Invalid(QimatchError):
    """Input that breaks a rule; ``errors`` names every bad field at once."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.errors = errors
