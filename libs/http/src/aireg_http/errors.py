"""Every HTTP error is JSON ``{"error": "<machine_code>", "detail": "<sentence>", ...}``; never a trace.

Rules raise :class:`ApiError` (or a subclass naming the rule); this module turns it, and every framework
error, into the answer, in one place. The ``detail`` speaks the caller's language: a caller whose
``Accept-Language`` ranks Russian first gets the sentence the Russian catalogue keeps for the machine code
(``error.<code>``); English, the default, keeps the rule's own sentence. ``error`` never changes.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from aireg_events.log.appender import AppenderStopped, StreamVersionConflict
from aireg_events.rules import RefusalKind, RuleViolation
from aireg_http.messages import DEFAULT_LANGUAGE, Language, catalogue, preferred_language

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    loc: list[str | int]
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a machine code and a sentence (and field errors for 422)."""

    error: str = Field(description="the machine code, e.g. submission_window_closed")
    detail: str = Field(description="a sentence for people")
    errors: list[FieldError] | None = Field(default=None, description="the field errors of a 422")
    retry_after: int | None = Field(
        default=None, description="429 and 503: seconds to wait before a retry (also the Retry-After header)"
    )


class JsonResponse(Response):
    """A JSON answer encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """A refusal with an HTTP status and a machine code (``submission_window_closed``, ...)."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self, detail: str, *, code: str | None = None, status_code: int | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}

    def to_response(self, request: Request | Scope) -> JsonResponse:
        """The answer to ``request`` (or to the request of an ASGI ``scope``, for a middleware)."""
        if not isinstance(request, Request):
            request = Request(request)
        body = {key: value for key, value in self.body().items() if key not in ("headers", "error", "detail")}
        return error_response(
            self.status_code,
            self.code,
            self.detail,
            request=request,
            headers=self.extra.get("headers"),
            **body,
        )


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Unprocessable(ApiError):
    status_code = 422
    code = "validation_failed"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def answer_language(request: Request) -> Language:
    return preferred_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE


def localized_detail(language: Language, code: str, detail: str) -> str:
    """``detail`` in ``language``: the catalogue's sentence for ``code`` (a 422 adds where its first field
    error is), or the rule's own in English
    (and where a catalogue has no sentence for a code, which a test of the catalogue keeps from happening
    for the codes the services document)."""
    words = catalogue(language)
    if language == DEFAULT_LANGUAGE or not words.has(f"error.{code}"):
        return detail
    return words.text(f"error.{code}")


def error_response(
    status_code: int, code: str, detail: str, *, request: Request | None = None, **extra: Any
) -> JsonResponse:
    headers = dict(extra.pop("headers", None) or {})
    language = answer_language(request) if request is not None else DEFAULT_LANGUAGE
    headers["Content-Language"] = language
    localized = localized_detail(language, code, detail)
    fields = extra.get("errors")
    if localized != detail and isinstance(fields, list) and fields:
        localized += f" ({'.'.join(str(part) for part in fields[0].get('loc', []))})"
    return JsonResponse(
        {"error": code, "detail": localized, **extra},
        status_code=status_code,
        headers=headers,
    )


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for item in error.errors():
        location = [part for part in item.get("loc", ()) if isinstance(part, (str, int))]
        fields.append(
            {"loc": location, "message": str(item.get("msg", "")), "type": str(item.get("type", ""))}
        )
    return fields


_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
"""SQLSTATE classes of a database that cannot answer now: connection exceptions, insufficient resources,
operator intervention (shutdown, restart, "cannot connect now")."""
DATABASE_RETRY_AFTER = 2


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached or cannot answer now (not that a query is
    wrong): a connection refused or lost, a server shutting down or starting, a full pool, a busy SQLite.
    Follows the chain of causes, where drivers keep the original error."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
            return True
        if isinstance(link, PendingRollbackError):  # the connection was lost inside the transaction
            return True
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return True
        if isinstance(link, ConnectionError):
            return True
        sqlstate = getattr(link, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if type(link).__module__.startswith("asyncpg") and type(link).__name__ in (
            "InterfaceError",
            "ConnectionDoesNotExistError",
            "InternalClientError",
        ):
            return True
        link = getattr(link, "orig", None) or link.__cause__ or link.__context__
    return False


REFUSAL_STATUS: dict[RefusalKind, int] = {
    "conflict": 409,
    "invalid": 422,
    "forbidden": 403,
    "not_found": 404,
    "unavailable": 503,
}
"""The HTTP status of each kind of refusal: the one map, for the answers and for the OpenAPI documents."""

COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing_token, invalid_token, token_expired, token_revoked", "model": ErrorBody},
    403: {"description": "forbidden_role: the token's role may not do this", "model": ErrorBody},
    422: {"description": "validation_failed: invalid input, with field errors", "model": ErrorBody},
}
"""The errors any authenticated route may answer, whatever it does."""


def refusals(*rules: type[RuleViolation]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of a route whose handler may raise ``rules``: each status lists the machine
    codes it carries (and, where it has them, the errors every route shares)."""
    codes: dict[int, list[str]] = {}
    for rule in rules:
        names = codes.setdefault(REFUSAL_STATUS[rule.kind], [])
        if rule.code not in names:
            names.append(rule.code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status_code, names in sorted(codes.items()):
        common = COMMON_ERRORS.get(status_code, {}).get("description")
        description = ", ".join(names) + (f"; or {common}" if common else "")
        responses[status_code] = {"description": description, "model": ErrorBody}
    return responses


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RuleViolation)
    async def _rule(request: Request, error: RuleViolation) -> JsonResponse:
        return error_response(
            REFUSAL_STATUS[error.kind], error.code, error.detail, request=request, **error.extra
        )

    @app.exception_handler(StreamVersionConflict)
    async def _stream_conflict(request: Request, error: StreamVersionConflict) -> JsonResponse:
        return error_response(
            409, error.code, "the record changed concurrently; read it again and retry", request=request
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PendingRollbackError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)
    async def _database(request: Request, error: Exception) -> JsonResponse:
        if not database_unavailable(error):
            raise error  # a wrong query is a bug: the 500 below, logged with its trace
        logger.warning(
            "database unavailable on %s %s: %r", request.method, request.url.path, error.__class__.__name__
        )
        return error_response(
            503,
            "database_unavailable",
            request=request,
            detail="the database cannot answer now; retry the request (with the same Idempotency-Key where the "
            "route takes one): a command is recorded whole or not at all, and the retry tells which",
            retry_after=DATABASE_RETRY_AFTER,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )

    @app.exception_handler(AppenderStopped)
    async def _stopping(request: Request, _error: AppenderStopped) -> JsonResponse:
        return error_response(
            503,
            "service_unavailable",
            "the service is stopping; retry on another replica or in a moment",
            request=request,
            retry_after=1,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JsonResponse:
        return error.to_response(request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JsonResponse:
        fields = _field_errors(error)
        first = fields[0] if fields else {"loc": [], "message": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        detail = f"{where}: {first['message']}" if where else str(first["message"])
        return error_response(422, "validation_failed", detail, request=request, errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JsonResponse:
        code = _STATUS_CODES.get(error.status_code, "http_error")
        detail = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        if error.status_code == 400 and "parsing the body" in detail:
            code, detail = "malformed_body", "the body is not valid JSON in UTF-8"
        return error_response(
            error.status_code, code, detail, request=request, headers=getattr(error, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JsonResponse:
        if database_unavailable(error):  # wrapped in something the handlers above do not name
            return await _database(request, error)
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", "the server failed to answer; the error was logged", request=request
        )
