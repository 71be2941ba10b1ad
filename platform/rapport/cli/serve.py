"""``rapport serve [--host H] [--port P] [--demo]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rapport.auth.tokens import issue_token
from rapport.principal import ADMIN_ROLE
from rapport.settings import Settings

if TYPE_CHECKING:
    from rapport.services import Services

__all__ = ["register"]

DEMO_TTL = 24 * 3600  # a demo token outlives an afternoon of trying things


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run the HTTP server")
    parser.add_argument("--host", help="interface to listen on (default: RAPPORT_HOST)")
    parser.add_argument("--port", type=int, help="port (default: RAPPORT_PORT)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="create the demo tenant (RAPPORT_DEMO_TENANT) with sample data and print a token",
    )
    parser.set_defaults(handler=_serve)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from rapport.server import run  # uvicorn and the app load only for this command

    def banner(services: Services, base_url: str) -> None:
        lines = [
            "",
            f"Rapport is ready at {base_url}",
            f"  GraphQL endpoint: {base_url}/graphql",
            f"  Admin API:        {base_url}/graphql/admin",
            f"  Health:           {base_url}/healthz",
        ]
        if args.demo:
            tenant = settings.demo_tenant
            token = issue_token(
                settings,
                tenant=tenant,
                subject="demo-admin",
                roles=[ADMIN_ROLE],
                ttl_seconds=DEMO_TTL,
            )
            lines += [
                "",
                f"Demo tenant {tenant!r} is published with sample training data.",
                f"  GraphiQL (token filled in): {base_url}/graphql#token={token}",
                "  Admin token (Authorization: Bearer …):",
                f"  {token}",
            ]
        elif settings.graphiql:
            lines.append(f"  GraphiQL:         {base_url}/graphql (in a browser)")
        print("\n".join(lines) + "\n", flush=True)

    run(settings, host=args.host, port=args.port, demo=args.demo, on_ready=banner)
    return 0
