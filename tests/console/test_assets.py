"""The committed console build matches its sources, and Rapport serves it at /console."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rapport.console import CONSOLE_DIR
from rapport.settings import Settings
from tests.live_server import LiveServer, server_settings

SOURCES = Path(__file__).parents[2] / "console"
# The same inputs, in the same order, as console/scripts/stamp.mjs hashes at build time.
INPUTS = (
    "index.html",
    "graphiql.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "src",
)


def source_hash() -> str:
    files = []
    for name in INPUTS:
        path = SOURCES / name
        files.extend(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else files.append(
            path
        )
    digest = hashlib.sha256()
    for rel in sorted(p.relative_to(SOURCES).as_posix() for p in files):
        digest.update(rel.encode() + b"\0" + (SOURCES / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_committed_assets_were_built_from_the_current_sources() -> None:
    recorded = json.loads((CONSOLE_DIR / "build-info.json").read_text())["sources"]
    assert recorded == source_hash(), (
        "The console's built assets are stale: run `make console` (npm ci && npm run build in "
        "console/) and commit platform/rapport/_data/console."
    )


def test_no_asset_loads_anything_from_another_host() -> None:
    for page in ("index.html", "graphiql.html"):
        text = (CONSOLE_DIR / page).read_text()
        assert "https://" not in text and "http://" not in text, page


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[LiveServer]:
    settings: Settings = server_settings(database_url)
    with LiveServer(settings) as live:
        yield live


def test_console_is_served_with_a_single_page_fallback(server: LiveServer) -> None:
    # when
    bare = httpx.get(server.url + "/console", follow_redirects=False)
    index = httpx.get(server.url + "/console/")
    deep = httpx.get(server.url + "/console/entities/training")
    missing = httpx.get(server.url + "/console/assets/nothing.js")
    # then
    assert bare.status_code == 308 and bare.headers["location"] == "/console/"
    assert index.status_code == 200 and '<div id="root">' in index.text
    assert deep.status_code == 200 and deep.text == index.text
    assert missing.status_code == 404
    script = index.text.split('src="')[1].split('"')[0]
    assert script.startswith("/console/assets/")
    assert httpx.get(server.url + script).status_code == 200
