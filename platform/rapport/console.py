"""The web console at ``/console``: the built single-page app shipped in the wheel.

The assets are built from ``console/`` (``npm run build``) into ``rapport/_data/console`` and
committed, so ``pip install .`` serves them with no Node and no CDN; ``build-info.json`` holds
the hash of the sources they were built from (tests/test_console.py fails when it is stale).
Paths without a file extension answer ``index.html`` (the app routes on the client); a missing
asset is a plain 404. The console has no endpoint of its own: it calls /auth, /graphql and
/graphql/admin like any client.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["CONSOLE_DIR", "CONSOLE_ROUTES", "graphiql_page"]

CONSOLE_DIR = Path(str(files("rapport") / "_data" / "console"))


class _SinglePageApp(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            return await super().get_response("index.html", scope)


async def _to_console(_request: Request) -> Response:
    return RedirectResponse("/console/", status_code=308)


def graphiql_page(endpoint: str, title: str) -> str:
    """The bundled GraphiQL page (local assets only) configured for ``endpoint``."""
    page = (CONSOLE_DIR / "graphiql.html").read_text(encoding="utf-8")
    # "</" is escaped so a value cannot end the <script> element.
    config = json.dumps({"endpoint": endpoint, "title": title}).replace("</", "<\\/")
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;")
    return page.replace(
        "<!--rapport-config-->", f"<script>window.__RAPPORT_GRAPHIQL__ = {config};</script>"
    ).replace("<title>GraphiQL</title>", f"<title>{safe_title} · GraphiQL</title>")


CONSOLE_ROUTES = [
    Route("/console", _to_console, methods=["GET"]),
    Mount("/console", app=_SinglePageApp(directory=CONSOLE_DIR, html=True, check_dir=False)),
]
