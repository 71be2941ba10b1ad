"""``GET /download/{plugin}/{name}/{id}``: a plug-in's file as a real HTTP download.

The caller authenticates as for ``/graphql`` (``Authorization: Bearer``; a tenant member); the
plug-in must be installed in the caller's tenant; :func:`rapport.plugins.handout.run_download`
runs its handler (which decides who may have the file) and audits the file handed out. The
answer is the file itself — ``Content-Disposition: attachment``, its SHA-256 in
``X-Content-SHA256``, ``Cache-Control: no-store`` — or the same
``{"errors": [...]}`` body as GraphQL's with 401/403/404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import replace
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rapport.errors import Forbidden, RapportError, Unauthenticated
from rapport.graphql.http import error_body, services
from rapport.plugins.handout import find_download, run_download
from rapport.principal import ClientFacts

__all__ = ["DOWNLOAD_ROUTES"]

log = logging.getLogger(__name__)


async def download_endpoint(request: Request) -> Response:
    plugin, name = request.path_params["plugin"], request.path_params["name"]
    try:
        svc = services(request)
        principal = await svc.auth.authenticate(request.headers)
        address = svc.auth.logins.client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
        )
        client = ClientFacts(
            address=address, user_agent=request.headers.get("user-agent", "")[:500]
        )
        principal = replace(principal, client=client)
        if principal.tenant is None:
            raise Forbidden(
                "An operator token has no tenant, so it cannot download tenant files.",
                hint="Use a token of the tenant (`rapport token issue --tenant SLUG`).",
            )
        api = await svc.runtimes.get(principal.tenant)
        if svc.plugin_attributes is not None:
            principal = await svc.plugin_attributes.enrich(api.tenant, api.metadata, principal)
        file = await run_download(
            svc.db,
            find_download(api.metadata, plugin, name),
            plugin=plugin,
            name=name,
            tenant=api.tenant,
            metadata=api.metadata,
            principal=principal,
            record_id=request.path_params["id"],
            now=dt.datetime.now(dt.UTC),
        )
    except Unauthenticated as exc:
        return _refused(401, exc, {"WWW-Authenticate": 'Bearer realm="rapport"'})
    except RapportError as exc:
        return _refused(exc.http_status, exc)
    except Exception:
        log.exception("unexpected error serving download %s/%s", plugin, name)
        return _refused(500, RapportError("Internal error.", hint="See the server log."))
    return Response(
        file.content,
        media_type=file.media_type,
        headers={
            # an ASCII name for every client, the exact one (RFC 6266/5987) for those that read it
            "Content-Disposition": f'attachment; filename="{file.safe_filename}"; '
            f"filename*=UTF-8''{quote(file.filename, safe='')}",
            "X-Content-SHA256": hashlib.sha256(file.content).hexdigest(),
            "Cache-Control": "no-store",
        },
    )


def _refused(status: int, error: RapportError, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(error), status, media_type="application/json", headers=headers or {})


DOWNLOAD_ROUTES = (Route("/download/{plugin}/{name}/{id}", download_endpoint, methods=["GET"]),)
