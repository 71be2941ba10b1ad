"""`rapport keys rotate`: re-wrap under a new master key, or re-encrypt with readers running."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from rapport.auth import totp
from rapport.auth.users import create_user
from rapport.composition import KERNEL
from rapport.crypto.cipher import key_id_of
from rapport.crypto.keys import KeyRing, default_keyring
from rapport.crypto.rotation import reencrypt, rewrap
from rapport.crypto.sealing import KeyRingSealers
from rapport.graphql.executor import build_tenant_api
from rapport.im.apps import open_secret, seal_secret, set_app
from rapport.metadata.lifecycle import load_published
from rapport.settings import Settings
from tests.crypto.conftest import World

SALARIES = "{ employees(first: 1000) { edges { node { id salary } } } }"


async def _salaries(world: World) -> dict[str, str | None]:
    result = await world.run(SALARIES)
    assert "errors" not in result, result
    return {e["node"]["id"]: e["node"]["salary"] for e in result["data"]["employees"]["edges"]}


async def test_reencrypt_keeps_every_value_and_reads_succeed_during_it(world: World) -> None:
    # given: values under the current key, and their plaintext as read now
    for i in range(30):
        await world.create(f"Rot{i}", f"{2000 + i}.00")
    expected = await _salaries(world)
    old_keys = await world.db.fetch(
        "SELECT key_id FROM rapport.tenant_keys WHERE tenant_id = $1::uuid", world.tenant.id
    )
    reads: list[dict[str, str | None]] = []
    during: list[asyncio.Task[dict[str, str | None]]] = []

    def on_batch(_n: int) -> None:
        # a reader between batches sees old and new ciphertexts mixed
        during.append(asyncio.ensure_future(_salaries(world)))

    # when: batches of 7 rows, readers running between them
    _, metadata = await load_published(world.db, world.tenant.slug)
    done = await reencrypt(
        world.db,
        default_keyring(),
        world.tenant,
        metadata.model,
        actor="test",
        batch_size=7,
        on_batch=on_batch,
    )
    reads = list(await asyncio.gather(*during))

    # then
    assert done.batches >= 4 and done.values >= 30
    assert all(r == expected for r in reads)  # every read during the rotation succeeded
    assert await _salaries(world) == expected
    states = dict(
        await world.db.fetch(
            "SELECT key_id, state FROM rapport.tenant_keys WHERE tenant_id = $1::uuid",
            world.tenant.id,
        )
    )
    assert states[done.key_id] == "active"
    assert all(states[r["key_id"]] == "retired" for r in old_keys)
    stale = await world.db.fetchval(
        f'SELECT count(*) FROM "{world.tenant.schema}"."hr_employee" '
        "WHERE salary IS NOT NULL AND substring(salary from 2 for 4) <> $1::bytea",
        done.key_id.to_bytes(4, "big"),
    )
    assert stale == 0
    entries = await world.db.fetch(
        "SELECT data FROM rapport.audit_entries WHERE action = 'keys.rotate' ORDER BY seq"
    )
    assert [json.loads(e["data"])["stage"] for e in entries[-2:]] == ["start", "done"]


async def test_rewrap_moves_data_keys_to_a_new_master_key(world: World) -> None:
    # given: a new master key, with the old one listed as previous
    expected = await _salaries(world)
    old = default_keyring()
    new_master = os.urandom(32)
    rotated = KeyRing([new_master, *old.master_keys.values()])

    # when
    count = await rewrap(world.db, rotated, world.tenant, actor="test")

    # then: every key is wrapped by the new master; a ring with ONLY the new key reads it all
    assert count >= 1
    only_new = KeyRing([new_master])
    api = build_tenant_api(world.tenant, world.api.metadata, kernel=KERNEL)
    api.sealers = KeyRingSealers(only_new)  # this process now runs with the new master key only
    fresh = World(world.db, world.tenant, api)
    assert await _salaries(fresh) == expected
    api.close()
    # and the old master alone no longer opens them (clear error, not garbage)
    stale_only = KeyRing(list(old.master_keys.values()))
    fresh_api = build_tenant_api(world.tenant, world.api.metadata, kernel=KERNEL)
    fresh_api.sealers = KeyRingSealers(stale_only)
    result = await World(world.db, world.tenant, fresh_api).run(SALARIES)
    assert result["errors"][0]["extensions"]["code"] == "DECRYPTION_FAILED"
    fresh_api.close()
    # put the process key back for the other tests of this module
    await rewrap(
        world.db, KeyRing([*old.master_keys.values(), new_master]), world.tenant, actor="test"
    )


async def test_the_cli_rotates_and_keeps_values_readable(
    world: World, database_url: str, tmp_path: object
) -> None:
    # given
    expected = await _salaries(world)
    env = dict(os.environ, RAPPORT_DATABASE_URL=database_url, RAPPORT_DATA_DIR=str(tmp_path))
    env["RAPPORT_ENV"] = "test"

    # when
    rotate = subprocess.run(
        [
            sys.executable,
            "-m",
            "rapport.cli",
            "keys",
            "rotate",
            "--tenant",
            "secrets",
            "--reencrypt",
            "--batch-size",
            "10",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    checkpoint = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "audit", "checkpoint"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    verify = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "audit", "verify", "--tenant", "secrets"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    # then
    assert rotate.returncode == 0, rotate.stderr
    assert "re-encrypted" in rotate.stdout
    assert checkpoint.returncode == 0 and "signature=" in checkpoint.stdout, checkpoint.stderr
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stderr
    assert await _salaries(world) == expected


async def test_the_cli_reencrypts_totp_and_wecom_dingtalk_secrets_and_tokens(
    world: World, database_url: str, tmp_path: object
) -> None:
    # given a user with a TOTP secret, a WeCom app (secret sealed) and a cached access token
    keyring = default_keyring()
    user = await create_user(
        world.db, Settings.from_env().identity, tenant="secrets", login="totp-rot",
        roles=["employee"], password=None, actor="test",
    )  # fmt: skip
    async with world.db.transaction() as conn:
        await set_app(conn, keyring, tenant_id=world.tenant.id, platform="wecom", corp_id="ww0123456789abcdef",
                      agent_id=1000002, secret="app-secret-1")  # fmt: skip
        token = await seal_secret(conn, keyring, world.tenant.id, "wecom", "token", "tok-1")
        await conn.execute(
            "INSERT INTO rapport.im_tokens (tenant_id, platform, app, token, expires_at) "
            "VALUES ($1::uuid, 'wecom', 'ww0123456789abcdef/1000002', $2, now() + interval '1 hour')",
            world.tenant.id,
            token,
        )
        totp_sealed = await totp._seal(conn, keyring, world.tenant.id, user.id, "JBSWY3DPEHPK3PXP")
        await conn.execute(
            "UPDATE rapport.users SET totp_sealed = $2 WHERE id = $1::uuid", user.id, totp_sealed
        )
    env = dict(os.environ, RAPPORT_DATABASE_URL=database_url, RAPPORT_DATA_DIR=str(tmp_path))
    env["RAPPORT_ENV"] = "test"

    # when the operator rotates the tenant's data key with re-encryption
    rotate = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "keys", "rotate", "--tenant", "secrets",
         "--reencrypt"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip

    # then every catalog value is sealed under the new key and opens to what it was
    assert rotate.returncode == 0, rotate.stderr
    active = await world.db.fetchval(
        "SELECT key_id FROM rapport.tenant_keys WHERE tenant_id = $1::uuid AND state = 'active'",
        world.tenant.id,
    )
    row = await world.db.fetchrow(
        "SELECT a.secret, t.token, u.totp_sealed FROM rapport.im_apps a, rapport.im_tokens t, "
        "rapport.users u WHERE a.tenant_id = $1::uuid AND t.tenant_id = a.tenant_id "
        "AND u.id = $2::uuid",
        world.tenant.id,
        user.id,
    )
    assert {key_id_of(bytes(row[c])) for c in ("secret", "token", "totp_sealed")} == {active}
    fresh = default_keyring()  # no cached keys: the retired ones are not needed any more
    async with world.db.transaction() as conn:
        assert (
            await open_secret(conn, fresh, world.tenant.id, "wecom", "secret", row["secret"])
            == "app-secret-1"
        )
        assert (
            await open_secret(conn, fresh, world.tenant.id, "wecom", "token", row["token"])
            == "tok-1"
        )
        assert (
            await totp._open(conn, fresh, world.tenant.id, user.id, bytes(row["totp_sealed"]))
            == "JBSWY3DPEHPK3PXP"
        )
