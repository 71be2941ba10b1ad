"""The `rapport` command, run as a subprocess against the module's test database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rapport.auth.tokens import verify_token
from rapport.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "platform" / "rapport" / "_data" / "demo" / "metadata"
SECRET = "c" * 64


@pytest.fixture(scope="module")
def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("cli-data")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("RAPPORT_")
    }
    environment.update(
        RAPPORT_DATABASE_URL=database_url,
        RAPPORT_JWT_SECRET=SECRET,
        RAPPORT_DATA_DIR=str(data_dir),
        RAPPORT_ENV="test",
    )
    yield environment


def rapport(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(env: dict[str, str], *args: str | Path) -> str:
    result = rapport(env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def failed(env: dict[str, str], *args: str | Path, status: int = 1) -> str:
    result = rapport(env, *args)
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def _course_without_price(tmp_path: Path) -> Path:
    folder = tmp_path / "changed"
    for source in DEMO.rglob("*.json"):
        target = folder / source.relative_to(DEMO)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = json.loads(source.read_text())
        if body["$id"] == "training/course":
            del body["properties"]["price"]
        target.write_text(json.dumps(body))
    return folder


def test_tenant_create_and_list(env: dict[str, str]) -> None:
    out = ok(env, "tenant", "create", "acme", "--name", "ACME Corp")
    assert "created tenant acme (ACME Corp)" in out and "metadata version 1" in out
    listing = ok(env, "tenant", "list")
    assert listing.splitlines()[0].split() == ["SLUG", "NAME", "VERSION", "CREATED"]
    assert any(line.startswith("acme") for line in listing.splitlines())


def test_tenant_create_errors(env: dict[str, str]) -> None:
    ok(env, "tenant", "create", "dup")
    err = failed(env, "tenant", "create", "dup")
    assert "error: A tenant 'dup' already exists." in err and "hint:" in err
    err = failed(env, "tenant", "create", "Not-A-Slug")
    assert "not a valid tenant slug" in err and "hint:" in err


def test_token_issue_prints_only_a_verifiable_jwt(env: dict[str, str]) -> None:
    ok(env, "tenant", "create", "tokens")
    out = ok(
        env, "token", "issue", "--tenant", "tokens", "--role", "admin", "--role", "hr",
        "--subject", "alice", "--ttl", "120",
    )  # fmt: skip
    assert out.count("\n") == 1
    settings = Settings.from_env({"RAPPORT_JWT_SECRET": SECRET, "RAPPORT_ENV": "test"})
    principal = verify_token(settings, out.strip())
    assert (principal.tenant, principal.subject) == ("tokens", "alice")
    assert principal.roles == frozenset({"admin", "hr"})


def test_token_issue_for_an_operator(env: dict[str, str]) -> None:
    out = ok(env, "token", "issue", "--operator")
    settings = Settings.from_env({"RAPPORT_JWT_SECRET": SECRET, "RAPPORT_ENV": "test"})
    principal = verify_token(settings, out.strip())
    assert principal.tenant is None and principal.is_operator


def test_token_issue_errors(env: dict[str, str]) -> None:
    err = failed(env, "token", "issue", "--tenant", "nosuch", "--role", "admin")
    assert "There is no tenant 'nosuch'" in err and "rapport tenant create nosuch" in err
    assert "--role" in failed(env, "token", "issue", "--tenant", "acme", status=2)
    assert "one of the arguments" in failed(env, "token", "issue", "--role", "x", status=2)
    err = failed(env, "token", "issue", "--operator", "--tenant", "acme", status=2)
    assert "not allowed with" in err


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    assert "invalid choice" in failed(env, "frobnicate", status=2)
    assert "required" in failed(env, "metadata", "publish", DEMO, status=2)
    assert "invalid int value" in failed(
        env, "metadata", "rollback", "--tenant", "acme", "--to", "x", status=2
    )


def test_metadata_lifecycle(env: dict[str, str], tmp_path: Path) -> None:
    # given
    ok(env, "tenant", "create", "meta")
    # plan shows the DDL and changes nothing
    planned = ok(env, "metadata", "plan", "--tenant", "meta", DEMO)
    assert "CREATE TABLE" in planned and "training_course" in planned
    assert ok(env, "metadata", "plan", "--tenant", "meta", DEMO) == planned
    # publish applies it as version 2
    published = ok(env, "metadata", "publish", "--tenant", "meta", DEMO, "--note", "first")
    assert "published tenant meta metadata version 2" in published
    assert "no changes" in ok(env, "metadata", "publish", "--tenant", "meta", DEMO)
    # a destructive change is refused without --allow-destructive, with a hint
    changed = _course_without_price(tmp_path)
    assert "DESTRUCTIVE" in ok(env, "metadata", "plan", "--tenant", "meta", changed)
    err = failed(env, "metadata", "publish", "--tenant", "meta", changed)
    assert "destructive" in err and "--allow-destructive" in err
    # a stale expected version is refused
    err = failed(
        env, "metadata", "publish", "--tenant", "meta", changed,
        "--allow-destructive", "--expected-version", "1",
    )  # fmt: skip
    assert "not 1" in err
    out = ok(
        env, "metadata", "publish", "--tenant", "meta", changed,
        "--allow-destructive", "--expected-version", "2",
    )  # fmt: skip
    assert "metadata version 3" in out
    # rollback publishes version 2's documents as version 4
    out = ok(env, "metadata", "rollback", "--tenant", "meta", "--to", "2")
    assert "as metadata version 4" in out
    # versions lists them all
    table = ok(env, "metadata", "versions", "--tenant", "meta").splitlines()
    assert table[0].split()[:5] == ["VERSION", "PUBLISHED", "BY", "STEPS", "DESTRUCTIVE"]
    rows = [line.split() for line in table[1:]]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert rows[2][4] == "yes" and rows[1][4] == "no"
    assert "first" in table[2] and "rollback to version 2" in table[4]


def test_export_import_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    ok(env, "tenant", "create", "trip")
    ok(env, "metadata", "publish", "--tenant", "trip", DEMO)
    exported = tmp_path / "export"
    out = ok(env, "metadata", "export", "--tenant", "trip", exported)
    assert "exported 4 document(s)" in out
    assert (exported / "training" / "course.json").is_file()
    old = tmp_path / "v1"
    assert "exported 0 document(s)" in ok(
        env, "metadata", "export", "--tenant", "trip", "--version", "1", old
    )
    # import stores a draft; planning the draft shows nothing to do
    ok(env, "tenant", "create", "trip2")
    assert "saved 4 document(s)" in ok(env, "metadata", "import", "--tenant", "trip2", exported)
    assert "CREATE TABLE" in ok(env, "metadata", "plan", "--tenant", "trip2")
    assert "version 2" in ok(env, "metadata", "publish", "--tenant", "trip2")
    assert ok(env, "metadata", "plan", "--tenant", "trip2", exported) == "-- No schema changes.\n"


def test_metadata_errors(env: dict[str, str], tmp_path: Path) -> None:
    ok(env, "tenant", "create", "broken")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.json").write_text('{"$id": "x/a", "type": "object", "properties": {')
    (bad / "b.json").write_text("[]")
    err = failed(env, "metadata", "plan", "--tenant", "broken", bad)
    assert "a.json" in err and "invalid JSON" in err and "b.json" in err
    assert "hint:" in err
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"$id": "x/one", "type": "object", "properties": {"n": 5}}))
    err = failed(env, "metadata", "publish", "--tenant", "broken", single)
    assert "x/one" in err
    assert "no such file" in failed(env, "metadata", "plan", "--tenant", "broken", "nope.json")
    assert "There is no tenant" in failed(env, "metadata", "versions", "--tenant", "ghost")
    err = failed(env, "metadata", "rollback", "--tenant", "broken", "--to", "9")
    assert "9" in err and "hint:" in err
    err = failed(env, "metadata", "export", "--tenant", "broken", "--version", "7", tmp_path / "e")
    assert "7" in err


def test_unreachable_database_is_a_clean_error(env: dict[str, str]) -> None:
    unreachable = {**env, "RAPPORT_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    err = failed(unreachable, "tenant", "list")
    assert "error: The database cannot be reached." in err and "hint:" in err


def test_bad_settings_are_a_clean_error(env: dict[str, str]) -> None:
    err = failed({**env, "RAPPORT_OTEL_EXPORTER": "zipkin"}, "tenant", "list")
    assert "RAPPORT_OTEL_EXPORTER" in err and "none, console, otlp" in err


# --- serve ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """`rapport serve` as a subprocess, stopped by a signal as Ctrl-C or a supervisor would.

    ``sigint`` is the SIGINT disposition it inherits: the default from a terminal, ignored when
    started as a background job (``make test &``), so the tests do not depend on their own.
    """

    def __init__(
        self,
        env: dict[str, str],
        *args: str,
        timeout: float = 60,
        sigint: signal.Handlers = signal.SIG_DFL,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"serve did not become ready: {self.stderr}")

    def banner(self) -> list[str]:
        assert self.process.stdout is not None
        lines: list[str] = []
        while len(lines) < 30 and (len(lines) < 2 or "Admin token" not in lines[-2]):
            lines.append(self.process.stdout.readline())
        return lines

    def stop(self, signum: signal.Signals = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        _, self.stderr = self.process.communicate(timeout=60)
        return self.process.returncode

    def stopped_cleanly(self) -> bool:
        return "Application shutdown complete" in self.stderr and "Traceback" not in self.stderr


def test_serve_demo_prints_a_working_token_and_is_idempotent(env: dict[str, str]) -> None:
    demo_env = {**env, "RAPPORT_DEMO_TENANT": "demo_cli"}
    served = Served(demo_env, "--demo")
    try:
        lines = served.banner()
        assert any(f"{served.url}/graphql#token=" in line for line in lines)
        token = lines[-1].strip()
        response = httpx.post(
            served.url + "/graphql",
            json={"query": "{ courses { totalCount } trainers { totalCount } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json() == {
            "data": {"courses": {"totalCount": 3}, "trainers": {"totalCount": 2}}
        }
    finally:
        status = served.stop()
    assert status == 0 and served.stopped_cleanly(), served.stderr
    assert "inserted 9 records" in served.stderr
    # a second start leaves the demo tenant as it is
    again = Served(demo_env, "--demo")
    assert again.stop() == 0 and again.stopped_cleanly(), again.stderr
    assert "inserted 9" not in again.stderr and "already holds records" in again.stderr


STOPS = {
    "Ctrl-C in a terminal": (signal.SIGINT, signal.SIG_DFL),
    "SIGINT to a background job": (signal.SIGINT, signal.SIG_IGN),
    "SIGTERM from a supervisor": (signal.SIGTERM, signal.SIG_DFL),
}


@pytest.fixture(scope="module")
def embedded_env(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The CLI's environment without RAPPORT_DATABASE_URL: serve starts its own PostgreSQL."""
    embedded = {k: v for k, v in env.items() if k != "RAPPORT_DATABASE_URL"}
    embedded["RAPPORT_DATA_DIR"] = str(tmp_path_factory.mktemp("embedded-data"))
    return embedded


@pytest.mark.parametrize(("signum", "sigint"), STOPS.values(), ids=STOPS.keys())
def test_serve_stops_cleanly_on_a_signal_and_exits_0(
    embedded_env: dict[str, str], signum: signal.Signals, sigint: signal.Handlers
) -> None:
    # given `rapport serve` on the embedded PostgreSQL
    served = Served(embedded_env, timeout=120, sigint=sigint)
    postmaster = Path(embedded_env["RAPPORT_DATA_DIR"]) / "postgres" / "postmaster.pid"
    assert postmaster.exists()
    # when
    status = served.stop(signum)
    # then it shut down cleanly, stopped the PostgreSQL it started, and exited 0
    assert status == 0 and served.stopped_cleanly(), served.stderr
    assert not postmaster.exists()


def test_serve_without_a_database_exits_cleanly(env: dict[str, str]) -> None:
    unreachable = {**env, "RAPPORT_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "serve", "--port", str(_free_port())],
        env=unreachable,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "error: The database cannot be reached." in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_taken_port_exits_cleanly(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "rapport.cli", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"did not start on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_joins_the_embedded_server_of_a_running_serve(embedded_env: dict[str, str]) -> None:
    # given: `rapport serve` on the embedded PostgreSQL of a data directory
    served = Served(embedded_env, timeout=120)
    try:
        # when: CLI commands use the same data directory meanwhile
        assert "created tenant shared" in ok(embedded_env, "tenant", "create", "shared")
        assert "shared" in ok(embedded_env, "tenant", "list")
        # then: the server kept its database (the CLI did not stop it on exit)
        assert httpx.get(served.url + "/healthz").status_code == 200
        token = ok(embedded_env, "token", "issue", "--tenant", "shared", "--role", "admin").strip()
        response = httpx.post(
            served.url + "/graphql",
            json={"query": "{ tasks { totalCount } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json() == {"data": {"tasks": {"totalCount": 0}}}
    finally:
        status = served.stop()
    assert status == 0 and served.stopped_cleanly(), served.stderr
    # and the embedded server stopped with the last process using it
    assert not (Path(embedded_env["RAPPORT_DATA_DIR"]) / "postgres" / "postmaster.pid").exists()
