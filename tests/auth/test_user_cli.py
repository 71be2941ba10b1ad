"""``rapport user …`` as a subprocess against the module's test database, then a real login."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.auth.conftest import PASSWORD
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def env(
    database_url: str, tenants: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    environment.update(
        RAPPORT_DATABASE_URL=database_url,
        RAPPORT_JWT_SECRET="t" * 64,
        RAPPORT_DATA_DIR=str(tmp_path_factory.mktemp("cli-data")),
        RAPPORT_ENV="test",
    )
    yield environment


def rapport(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", "user", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_list_then_log_in_with_the_cli_user(env: dict[str, str], server: LiveServer) -> None:
    # when
    created = rapport(
        env,
        "create",
        "--tenant",
        "acme",
        "kim@acme.test",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    listed = rapport(env, "list", "--tenant", "acme")
    # then
    assert created.returncode == 0, created.stderr
    assert "kim@acme.test" in listed.stdout and "admin" in listed.stdout
    assert PASSWORD not in created.stdout + listed.stdout
    login = httpx.post(
        server.url + "/auth/login",
        json={"tenant": "acme", "login": "kim@acme.test", "password": PASSWORD},
    )
    assert login.status_code == 200


def test_cli_errors_are_clean(env: dict[str, str]) -> None:
    # a weak password, a duties conflict, a duplicate, an unknown user
    weak = rapport(
        env,
        "create",
        "--tenant",
        "acme",
        "lee",
        "--role",
        "admin",
        "--password-stdin",
        stdin="short\n",
    )
    duties = rapport(
        env,
        "create",
        "--tenant",
        "acme",
        "lee",
        "--role",
        "admin",
        "--role",
        "audit_admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    unknown = rapport(env, "unlock", "--tenant", "acme", "nobody")
    for result, text in (
        (weak, "too weak"),
        (duties, "audit_admin cannot be combined"),
        (unknown, "No user with the login"),
    ):
        assert result.returncode == 1
        assert text in result.stderr
        assert "hint:" in result.stderr
        assert "Traceback" not in result.stderr


def test_disable_ends_login_and_unlock_and_reset_work(
    env: dict[str, str], server: LiveServer
) -> None:
    # given
    rapport(
        env,
        "create",
        "--tenant",
        "acme",
        "max@acme.test",
        "--role",
        "reader",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    new_password = "Another-Good-Pass-7"

    def login(password: str) -> int:
        return httpx.post(
            server.url + "/auth/login",
            json={"tenant": "acme", "login": "max@acme.test", "password": password},
        ).status_code

    # when / then
    assert rapport(env, "disable", "--tenant", "acme", "max@acme.test").returncode == 0
    assert login(PASSWORD) == 401
    assert rapport(env, "enable", "--tenant", "acme", "max@acme.test").returncode == 0
    assert rapport(env, "unlock", "--tenant", "acme", "max@acme.test").returncode == 0
    reset = rapport(
        env,
        "reset-password",
        "--tenant",
        "acme",
        "max@acme.test",
        "--password-stdin",
        stdin=new_password + "\n",
    )
    assert reset.returncode == 0, reset.stderr
    assert login(PASSWORD) == 401
    assert login(new_password) == 200
