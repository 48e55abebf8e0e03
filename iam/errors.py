"""Service errors: raised by services and selectors, rendered in the wire format by one API exception handler."""

from collections.abc import Iterable


class ServiceError(Exception):
    """A failure the caller can act on; carries its HTTP status, wire error code and field errors."""

    status = 400
    error_code = 9000
    default_message = "Invalid request"

    def __init__(self, message: str | None = None, *, field_errors: Iterable[tuple[str, str]] = ()):
        self.message = message or self.default_message
        self.field_errors = [(str(f), str(m)) for f, m in field_errors]
        super().__init__(self.message)


class InvalidInput(ServiceError):
    status = 400
    error_code = 9000
    default_message = "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> "InvalidInput":
        return cls(f"{field}: {message}", field_errors=[(field, message)])


class NotFound(ServiceError):
    status = 404
    error_code = 30
    default_message = "Not found"


class Conflict(ServiceError):
    status = 409
    error_code = 9011
    default_message = "Conflict"


class QuotaExceeded(Conflict):
    error_code = 9012
    default_message = "Limit exceeded"
