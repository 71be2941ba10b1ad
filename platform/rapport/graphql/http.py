"""GraphQL over HTTP: ``/graphql`` for a tenant's data, shared transport rules, ``/healthz``.

The transport follows the GraphQL-over-HTTP specification:

- ``POST`` with ``Content-Type: application/json`` and a body ``{query, operationName,
  variables, extensions}``; any other content type is refused with 415, which also keeps
  browsers' "simple" cross-site form posts (CSRF) away from mutations.
- ``GET`` with the same parameters in the query string, for queries only: a mutation is refused
  with 405 and ``Allow: POST``.
- The response media type follows ``Accept``: ``application/graphql-response+json`` (request
  errors answer 400) or ``application/json`` (request errors answer 200, as legacy clients
  expect); no ``Accept`` or ``*/*`` means ``application/json``; anything else is 406.
- Bodies over :data:`MAX_BODY_BYTES` are refused with 413.
- ``Authorization: Bearer <jwt>`` (or an API key, or an OIDC token: :mod:`rapport.auth.
  authenticate`) names the principal; a missing or bad token answers 401 with
  ``WWW-Authenticate: Bearer`` and a GraphQL error body whose ``extensions.code`` is
  ``UNAUTHENTICATED``.

Every error body is a GraphQL response ``{"errors": [{"message", "extensions": {"code",
"hint", …}}]}``; stack traces and SQL stay in the server log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from rapport.console import graphiql_page
from rapport.errors import (
    BadRequest,
    DatabaseUnavailable,
    Forbidden,
    MethodNotAllowed,
    RapportError,
    Unauthenticated,
)
from rapport.graphql.limits import PersistedOperations
from rapport.graphql.request import ExecutionOutcome, GraphQLRequest
from rapport.principal import ClientFacts, Principal

if TYPE_CHECKING:
    from rapport.services import Services

__all__ = [
    "APPLICATION_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "MAX_BODY_BYTES",
    "Executor",
    "error_body",
    "graphql_endpoint",
    "healthz_endpoint",
    "negotiate",
    "serve_graphql",
    "services",
]

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
MAX_BODY_BYTES = 1024 * 1024
HEALTH_TIMEOUT_SECONDS = 2.0

# Runs one operation for an authenticated principal; raises RapportError for refusals.
Executor = Callable[["Services", GraphQLRequest, Principal], Awaitable[ExecutionOutcome]]
# Checks the principal may use the endpoint at all (raises Forbidden).
Gate = Callable[[Principal], None]


class _Refused(Exception):
    """A transport-level refusal: the status, the error, and extra headers."""

    def __init__(
        self, status: int, error: RapportError, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.headers = dict(headers or {})


def services(request: Request) -> Services:
    """The running app's services (database, runtimes, token verifier), set at start-up."""
    found = getattr(request.app.state, "services", None)
    if found is None:
        raise DatabaseUnavailable(
            "The server is still starting.", hint="Wait until GET /healthz answers 200."
        )
    return cast("Services", found)


def error_body(*errors: RapportError) -> bytes:
    """A GraphQL response holding only these errors (no ``data``: nothing was executed)."""
    return json.dumps(
        {"errors": [{"message": e.message, "extensions": e.extensions()} for e in errors]},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


async def graphql_endpoint(request: Request) -> Response:
    """``/graphql``: the tenant API of the token's tenant."""
    return await serve_graphql(
        request, gate=_tenant_member, execute=_execute_tenant, persisted=True
    )


def _client_facts(svc: Services, request: Request) -> ClientFacts:
    address = svc.auth.logins.client_address(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for")
    )
    return ClientFacts(address=address, user_agent=request.headers.get("user-agent", "")[:500])


def _tenant_member(principal: Principal) -> None:
    if principal.tenant is None:
        raise Forbidden(
            "An operator token has no tenant, so it cannot read or write tenant data.",
            hint="Use /graphql/admin to manage tenants, or issue a tenant token "
            "(`rapport token issue --tenant SLUG --role admin`).",
        )
    # Any role of the tenant may use its API: permission documents decide what it reads and
    # writes (rapport.auth.permissions); a role without rules sees no records.


async def _execute_tenant(
    svc: Services, operation: GraphQLRequest, principal: Principal
) -> ExecutionOutcome:
    if principal.tenant is None:  # _tenant_member refused it already; this narrows the type
        raise Forbidden("An operator token has no tenant.")
    api = await svc.runtimes.get(principal.tenant)
    if svc.plugin_attributes is not None:  # $user.departments etc. from installed plug-ins
        principal = await svc.plugin_attributes.enrich(api.tenant, api.metadata, principal)
    return await api.execute(svc.db, operation, principal)


async def serve_graphql(
    request: Request,
    *,
    gate: Gate,
    execute: Executor,
    title: str = "Rapport",
    persisted: bool = False,
    principal: Principal | None = None,
) -> Response:
    """One GraphQL-over-HTTP exchange: negotiate, read, authenticate, execute, answer.

    ``persisted``: this endpoint obeys the persisted-operation allow-list when one is set.
    ``principal``: a fixed principal for every request (the login-free public endpoint); the
    request's credentials are then not read at all.
    """
    media_type = APPLICATION_JSON
    try:
        svc = services(request)
        if request.method == "GET" and svc.settings.graphiql and _prefers_html(request):
            return HTMLResponse(graphiql_page(str(request.url.path), title))
        media_type = _negotiated(request)
        _check_content_type(request)
        if principal is None:
            principal = await svc.auth.authenticate(request.headers)
        principal = replace(principal, client=_client_facts(svc, request))
        gate(principal)
        operation = await _read_operation(request, svc.persisted if persisted else None)
        outcome = await execute(svc, operation, principal)
    except _Refused as refused:
        return _error_response(refused.status, media_type, refused.error, refused.headers)
    except MethodNotAllowed as exc:
        return _error_response(405, media_type, exc, {"Allow": "POST"})
    except Unauthenticated as exc:
        challenge = 'Bearer realm="rapport"'
        if request.headers.get("authorization"):
            challenge += ', error="invalid_token"'
        return _error_response(401, media_type, exc, {"WWW-Authenticate": challenge})
    except RapportError as exc:
        return _error_response(exc.http_status, media_type, exc)
    except ClientDisconnect:
        return Response(status_code=400)
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        return _error_response(500, media_type, _internal())
    status = 400 if outcome.request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
    return Response(outcome.body, status_code=status, media_type=_content_type(media_type))


async def healthz_endpoint(request: Request) -> Response:
    """200 when the database answers ``SELECT 1``; 503 otherwise."""
    try:
        svc = services(request)
        await asyncio.wait_for(svc.db.fetchval("SELECT 1"), HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:
        # Not only DatabaseUnavailable: asyncpg raises other errors for a database that was
        # dropped or is shutting down, and any of them means "not ready".
        log.warning("health check failed: %s", exc)
        return JSONResponse(
            {
                "status": "unavailable",
                "code": DatabaseUnavailable.code,
                "message": "The database does not answer.",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok"})


# --- content negotiation --------------------------------------------------------------------


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, or None when none is acceptable."""
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    for media_range in _ranked(accept):
        if media_range == GRAPHQL_RESPONSE_JSON:
            return GRAPHQL_RESPONSE_JSON
        if media_range in (APPLICATION_JSON, "application/*", "*/*"):
            return APPLICATION_JSON
    return None


def _ranked(accept: str) -> list[str]:
    """Media ranges by descending ``q``, in header order among equals; q=0 means "not this"."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media_range = fields[0].lower()
        if not media_range:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, index, media_range))
    return [media_range for _, _, media_range in sorted(ranked)]


def _negotiated(request: Request) -> str:
    media_type = negotiate(request.headers.get("accept"))
    if media_type is None:
        raise _Refused(
            406,
            BadRequest(
                f"Cannot answer with any media type in Accept: {request.headers.get('accept')!r}.",
                hint=f"Accept {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}.",
            ),
        )
    return media_type


def _prefers_html(request: Request) -> bool:
    ranked = _ranked(request.headers.get("accept") or "")
    return bool(ranked) and ranked[0] == "text/html"


def _content_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8"


def _error_response(
    status: int, media_type: str, error: RapportError, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        error_body(error),
        status_code=status,
        media_type=_content_type(media_type),
        headers=dict(headers or {}),
    )


def _internal() -> RapportError:
    return RapportError(
        "The server failed to handle the request.",
        hint="Retry; if it keeps failing, report it with the time of the request.",
    )


# --- reading the request ----------------------------------------------------------------------


def _check_content_type(request: Request) -> None:
    if request.method != "POST":
        return
    raw = request.headers.get("content-type", "")
    media_type, *params = (p.strip().lower() for p in raw.split(";"))
    charset_ok = all(
        p.partition("=")[2].strip('"') in ("utf-8", "utf8")
        for p in params
        if p.partition("=")[0].strip() == "charset"
    )
    if media_type != APPLICATION_JSON or not charset_ok:
        raise _Refused(
            415,
            BadRequest(
                f"POST bodies must be {APPLICATION_JSON} (UTF-8), not {raw or 'untyped'}.",
                hint='Send Content-Type: application/json with {"query": "...", "variables": '
                "{...}}.",
            ),
        )


async def _read_operation(
    request: Request, persisted: PersistedOperations | None
) -> GraphQLRequest:
    if request.method == "GET":
        params: Mapping[str, Any] = {
            "query": request.query_params.get("query"),
            "operationName": request.query_params.get("operationName"),
            "variables": _json_param(request.query_params.get("variables"), "variables"),
            "extensions": _json_param(request.query_params.get("extensions"), "extensions"),
        }
        return _operation(_allowed(params, persisted), allow_mutations=False)
    body = await _read_body(request)
    try:
        params = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(params, dict):
        raise _bad("The request body must be a JSON object.")
    return _operation(_allowed(params, persisted), allow_mutations=True)


def _allowed(params: Mapping[str, Any], persisted: PersistedOperations | None) -> Mapping[str, Any]:
    """In allow-list mode, the listed text for the sent text or sha256Hash (else refused)."""
    if persisted is None:
        return params
    return {**params, "query": persisted.resolve(params)}


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _operation(params: Mapping[str, Any], *, allow_mutations: bool) -> GraphQLRequest:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _bad("The request has no `query` string.")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _bad("`operationName` must be a string or null.")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise _bad("`variables` must be a JSON object or null.")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise _bad("`extensions` must be a JSON object or null.")
    return GraphQLRequest(
        query=query,
        operation_name=operation_name or None,
        variables=variables,
        allow_mutations=allow_mutations,
    )


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise _bad(f"The `{name}` query parameter is not valid JSON.") from None


def _bad(message: str) -> _Refused:
    return _Refused(
        400,
        BadRequest(
            message,
            hint='Send {"query": "...", "operationName": "...", "variables": {...}} '
            "(GraphQL over HTTP).",
        ),
    )


def _too_large() -> _Refused:
    return _Refused(
        413,
        BadRequest(
            f"The request body is larger than {MAX_BODY_BYTES} bytes.",
            hint="Send smaller batches (e.g. split a bulk create into several requests).",
        ),
    )
