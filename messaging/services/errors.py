"""Typed errors raised by services; each caller renders them its own way
(the API as Smooch error JSON, the dashboard as a form error)."""


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, description: str, *, code: str | None = None, status: int | None = None):
        super().__init__(description)
        self.description = description
        if code:
            self.code = code
        if status:
            self.status = status


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"
