"""One error root for the whole package, with stable codes.

Every error a user can see is a ``ModelyardError`` carrying a ``code`` from the closed table
below. The code is mapped once to an HTTP status (server) and once to an exit code (CLI); the
remote client rebuilds the same class from the code it receives, so embedded and remote callers
catch the same exceptions.

    ModelyardError                     INTERNAL_ERROR
    ├── InvalidArgument                INVALID_ARGUMENT   (400, exit 2)
    │   └── FilterSyntaxError          INVALID_ARGUMENT   (carries the position)
    ├── NotFound                       NOT_FOUND          (404, exit 3)
    ├── AlreadyExists                  ALREADY_EXISTS     (409, exit 4)
    ├── Conflict                       CONFLICT           (409, exit 4)
    ├── Unauthenticated                UNAUTHENTICATED    (401, exit 8)
    ├── PermissionDenied               PERMISSION_DENIED  (403, exit 5)
    ├── TooManyRequests                RATE_LIMITED       (429 + Retry-After, exit 6)
    ├── PayloadTooLarge                PAYLOAD_TOO_LARGE  (413, exit 2)
    ├── UnsupportedMediaType           UNSUPPORTED_MEDIA_TYPE (415, exit 2)
    ├── RequestTimeout                 REQUEST_TIMEOUT    (408, exit 6)
    ├── DeadlineExceeded               DEADLINE_EXCEEDED  (504, exit 6)
    ├── Unavailable                    UNAVAILABLE        (503, exit 6)
    └── InsufficientStorage            INSUFFICIENT_STORAGE (507, exit 7)
"""

from __future__ import annotations

from typing import Any, ClassVar


class ModelyardError(Exception):
    """Root of every error modelyard raises on purpose."""

    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidArgument(ModelyardError):
    code = "INVALID_ARGUMENT"


class FilterSyntaxError(InvalidArgument):
    """A search filter that does not parse; ``position`` is the 0-based offset of the fault."""

    def __init__(self, message: str, *, text: str, position: int) -> None:
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(
            f"Invalid filter at position {position}: {message}{pointer}", field="filter"
        )
        self.position = position
        self.text = text


class NotFound(ModelyardError):
    code = "NOT_FOUND"


class AlreadyExists(ModelyardError):
    code = "ALREADY_EXISTS"


class Conflict(ModelyardError):
    code = "CONFLICT"


class Unauthenticated(ModelyardError):
    """The server does not know who is calling (no credentials, or ones it does not accept);
    ``PermissionDenied`` is for a caller it knows who may not do this."""

    code = "UNAUTHENTICATED"


class PermissionDenied(ModelyardError):
    code = "PERMISSION_DENIED"


class TooManyRequests(ModelyardError):
    """Too many tries in too short a time (logins, for one): try again after ``retry_after``
    seconds, which the HTTP answer carries as ``Retry-After``."""

    code = "RATE_LIMITED"
    retry_after: int = 1  # what an error rebuilt without the header says

    def __init__(self, message: str, *, retry_after: int = 1, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = max(1, int(retry_after))


class PayloadTooLarge(ModelyardError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(ModelyardError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class RequestTimeout(ModelyardError):
    """The request body did not arrive in time (a slow or stalled client)."""

    code = "REQUEST_TIMEOUT"


class DeadlineExceeded(ModelyardError):
    """The work took longer than it may (an inference past the server's timeout)."""

    code = "DEADLINE_EXCEEDED"


class Unavailable(ModelyardError):
    code = "UNAVAILABLE"


class InsufficientStorage(ModelyardError):
    """A store's disk (or quota) is full: nothing was written; free space and retry."""

    code = "INSUFFICIENT_STORAGE"


ERRORS_BY_CODE: dict[str, type[ModelyardError]] = {
    cls.code: cls
    for cls in (
        ModelyardError,
        InvalidArgument,
        NotFound,
        AlreadyExists,
        Conflict,
        Unauthenticated,
        PermissionDenied,
        TooManyRequests,
        PayloadTooLarge,
        UnsupportedMediaType,
        RequestTimeout,
        DeadlineExceeded,
        Unavailable,
        InsufficientStorage,
    )
}

HTTP_STATUS: dict[str, int] = {
    "INTERNAL_ERROR": 500,
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "CONFLICT": 409,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RATE_LIMITED": 429,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "REQUEST_TIMEOUT": 408,
    "DEADLINE_EXCEEDED": 504,
    "UNAVAILABLE": 503,
    "INSUFFICIENT_STORAGE": 507,
}

EXIT_CODES: dict[str, int] = {
    "INTERNAL_ERROR": 1,
    "INVALID_ARGUMENT": 2,
    "NOT_FOUND": 3,
    "ALREADY_EXISTS": 4,
    "CONFLICT": 4,
    "UNAUTHENTICATED": 8,
    "PERMISSION_DENIED": 5,
    "RATE_LIMITED": 6,
    "PAYLOAD_TOO_LARGE": 2,
    "UNSUPPORTED_MEDIA_TYPE": 2,
    "REQUEST_TIMEOUT": 6,
    "DEADLINE_EXCEEDED": 6,
    "UNAVAILABLE": 6,
    "INSUFFICIENT_STORAGE": 7,
}


def error_from_dict(body: dict[str, Any]) -> ModelyardError:
    """Rebuild an error received over HTTP; unknown codes become the root class."""
    cls = ERRORS_BY_CODE.get(str(body.get("code")), ModelyardError)
    err = cls.__new__(cls)
    ModelyardError.__init__(err, str(body.get("message", "unknown error")), field=body.get("field"))
    return err
