"""Every error the API returns, in one JSON shape: `{"code": "...", "message": "..."}`.

Routes raise `ApiError` (or let a domain exception through); the handlers installed here turn
each kind into its HTTP status and stable code, so no route builds an error response by hand.
The codes are a public contract: clients branch on them, so they are never renamed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.db.errors import ConflictError, DataError, NotFoundError
from vmcore_parsers.errors import EmptyInput, InputError, InputTooLarge

log = logging.getLogger(__name__)

UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
INVALID_REQUEST = "invalid_request"
PAYLOAD_TOO_LARGE = "payload_too_large"
EMPTY_INPUT = "empty_input"
UNSUPPORTED_FORMAT = "unsupported_format"
CONFLICT = "conflict"
INTERNAL_ERROR = "internal_error"


class ApiError(Exception):
    """An error answer: HTTP `status`, stable `code`, human `message`, optional extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra or {}


def unauthorized(message: str) -> ApiError:
    """401: the key is missing, unknown or revoked."""
    return ApiError(401, UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    """403: the key is valid but its role does not allow this call."""
    return ApiError(403, FORBIDDEN, message)


def not_found(what: str) -> ApiError:
    """404: nothing with this id for the caller's tenant (another tenant's ids look the same)."""
    return ApiError(404, NOT_FOUND, f"{what} not found")


def invalid_request(message: str) -> ApiError:
    """422: the request is well formed HTTP but its parameters or body are not acceptable."""
    return ApiError(422, INVALID_REQUEST, message)


def conflict(message: str) -> ApiError:
    """409: the request contradicts the resource's current state."""
    return ApiError(409, CONFLICT, message)


def payload_too_large(limit: int, what: str) -> ApiError:
    """413: the upload is larger than the configured limit for its kind."""
    return ApiError(413, PAYLOAD_TOO_LARGE, f"the upload is over the {limit}-byte limit for {what}")


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape."""
    return {"code": code, "message": message, **extra}


# Input errors found while reading an upload are the client's, so 4xx; the code passes through.
_INPUT_STATUS: dict[type[InputError], int] = {EmptyInput: 400, InputTooLarge: 413}


def input_error_status(exc: InputError) -> int:
    """HTTP status for an input error raised while reading or extracting an upload."""
    for kind, status in _INPUT_STATUS.items():
        if isinstance(exc, kind):
            return status
    return 422


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the API can meet to the one JSON error shape."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.extra),
            status_code=exc.status,
            headers=exc.headers,
        )

    async def on_input_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InputError)
        status = input_error_status(exc)
        code = PAYLOAD_TOO_LARGE if status == 413 else exc.code
        return JSONResponse(error_body(code, exc.message), status_code=status)

    async def on_data_error(request: Request, exc: Exception) -> JSONResponse:
        # The data layer's refusals: not found (or another tenant's), conflicts, bad cursors.
        assert isinstance(exc, DataError)
        status = (
            404
            if isinstance(exc, NotFoundError)
            else 409
            if isinstance(exc, ConflictError)
            else 422
        )
        code = {404: NOT_FOUND, 409: CONFLICT}.get(status, INVALID_REQUEST)
        return JSONResponse(error_body(code, exc.message), status_code=status)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(
            error_body(INVALID_REQUEST, describe_validation_errors(exc.errors())),
            status_code=422,
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette raises these itself: unknown routes, wrong methods, malformed bodies.
        assert isinstance(exc, StarletteHTTPException)
        code = {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
            413: PAYLOAD_TOO_LARGE,
        }.get(exc.status_code, INVALID_REQUEST if exc.status_code < 500 else INTERNAL_ERROR)
        message = str(exc.detail) if exc.detail else "request failed"
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path}"
        return JSONResponse(
            error_body(code, message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(INTERNAL_ERROR, "the server failed to handle this request"),
            status_code=500,
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(InputError, on_input_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def describe_validation_errors(errors: Any) -> str:
    """One readable sentence out of pydantic's error list: where, and what is wrong."""
    parts: list[str] = []
    for error in list(errors)[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
