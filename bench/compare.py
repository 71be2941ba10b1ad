"""Rapport against the practical limit and PostGraphile 5, on the same tables, in one run.

Servers, each one process on loopback: Rapport (``rapport serve``, production settings, no
tracing exporter), the limit (:mod:`bench.limit`: one SQL statement builds the response in
PostgreSQL, bytes passed through) and PostGraphile 5 (:mod:`bench.postgraphile`). Before any
timing every server's answer is checked equal (same rows, same order, same fields). Each
figure is the median of ``rounds`` rounds, the servers interleaved within each round so that
drift in the machine's load hits all of them alike; ratios are to the limit of the same run.

Scenarios: the page of 20 and of 1,000 rows (admin); the same pages as a non-admin role with a
row rule and a masked field, against admin; a single create mutation; and the 20-row page at
1, 4, 16 and 64 connections.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import postgraphile, training
from bench.http_load import build_request
from bench.servers import free_port, start, stop, wait_until_serving
from bench.wrk import Load, Target, ensure_wrk, measure

__all__ = ["Comparison", "run_comparison"]

HERE = Path(__file__).resolve().parent
LIMIT = "limit"
RAPPORT = "Rapport"
PGL = f"PostGraphile {postgraphile.POSTGRAPHILE_VERSION}"


@dataclass
class Comparison:
    """The figures of one run, by scenario then server (req/s medians and p50 ms)."""

    throughput: dict[str, dict[str, float]] = field(default_factory=dict)
    p50_ms: dict[str, dict[str, float]] = field(default_factory=dict)

    def ratio(self, scenario: str, server: str, to: str = LIMIT) -> float:
        return self.throughput[scenario][server] / self.throughput[scenario][to]


@dataclass
class _Servers:
    rapport: int
    limit: int
    pgl: int | None
    admin: tuple[tuple[str, str], ...]
    coordinator: tuple[tuple[str, str], ...]


async def run_comparison(
    dsn: str,
    schema: str,
    env: dict[str, str],
    tokens: dict[str, str],
    args: argparse.Namespace,
) -> Comparison:
    """Start the three servers, verify their answers, time every scenario, print the table."""
    wrk = ensure_wrk()
    print(
        f"load generator: {wrk or 'bench/http_load.py (wrk not found)'}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    ports = {"rapport": free_port(), "limit": free_port(), "pgl": free_port()}
    procs = {
        "rapport": start(
            [sys.executable, "-m", "rapport.cli", "serve", "--port", str(ports["rapport"])], env
        ),
        "limit": start(
            [sys.executable, str(HERE / "limit.py"), dsn, schema, str(ports["limit"])], env
        ),
    }
    if args.postgraphile:
        folder = postgraphile.install()
        procs["pgl"] = start(
            postgraphile.server_command(folder, dsn, schema, ports["pgl"]),
            {**os.environ, "NODE_ENV": "production"},
        )
    servers = _Servers(
        rapport=ports["rapport"],
        limit=ports["limit"],
        pgl=ports["pgl"] if args.postgraphile else None,
        admin=(("Authorization", f"Bearer {tokens['admin']}"),),
        coordinator=(("Authorization", f"Bearer {tokens['coordinator']}"),),
    )
    result = Comparison()
    try:
        await _verify(servers, procs, args)
        await _timed(result, wrk, servers, args)
    finally:
        for proc in procs.values():
            stop(proc)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return result


def _list_targets(servers: _Servers, first: int, *, reverse: bool = False) -> dict[str, Target]:
    targets = {
        LIMIT: Target(servers.limit, "/courses", training.limit_body(first, reverse=reverse)),
        RAPPORT: Target(servers.rapport, "/graphql", training.rapport_body(first), servers.admin),
    }
    if servers.pgl is not None:
        targets[PGL] = Target(servers.pgl, "/graphql", training.postgraphile_body(first))
    return targets


def _role_targets(servers: _Servers, first: int) -> dict[str, Target]:
    body = training.rapport_body(first)
    return {
        "admin": Target(servers.rapport, "/graphql", body, servers.admin),
        "coordinator": Target(servers.rapport, "/graphql", body, servers.coordinator),
    }


def _write_targets(servers: _Servers) -> dict[str, Target]:
    body = training.rapport_create_body()
    targets = {
        LIMIT: Target(servers.limit, "/create", body),
        RAPPORT: Target(servers.rapport, "/graphql", body, servers.admin),
    }
    if servers.pgl is not None:
        targets[PGL] = Target(servers.pgl, "/graphql", training.postgraphile_create_body())
    return targets


def _request(target: Target) -> bytes:
    return build_request("127.0.0.1", target.port, target.path, target.body, dict(target.headers))


async def _verify(servers: _Servers, procs: dict[str, Any], args: argparse.Namespace) -> None:
    by_name = {LIMIT: procs["limit"], RAPPORT: procs["rapport"], PGL: procs.get("pgl")}
    for first in args.pages:
        answers = {}
        for name, target in _list_targets(servers, first, reverse=args.break_limit).items():
            answers[name] = await wait_until_serving(target.port, _request(target), by_name[name])
        training.check_same(f"page of {first}", answers, rows=min(first, args.intermediate))
        print(f"verified: page of {first} rows is the same from {', '.join(answers)}")
        roles = {
            name: await wait_until_serving(t.port, _request(t), procs["rapport"])
            for name, t in _role_targets(servers, first).items()
        }
        _check_role(first, roles, rows=min(first, args.intermediate))
    for name, target in _write_targets(servers).items():
        answer = await wait_until_serving(target.port, _request(target), by_name[name])
        created = (json.loads(answer).get("data") or {}).get("createCourse") or {}
        created = created.get("trainingCourse", created)  # PostGraphile's payload type
        if not isinstance(created.get("id"), str):
            raise training.Mismatch(f"create: {name} answered {answer[:300]!r}")


def _check_role(first: int, answers: dict[str, bytes], *, rows: int) -> None:
    nodes = {}
    for role, body in answers.items():
        answer = json.loads(body)
        edges = (answer.get("data") or {}).get("courses", {}).get("edges")
        if "errors" in answer or not isinstance(edges, list) or len(edges) != rows:
            raise training.Mismatch(f"page of {first} as {role}: {body[:300]!r}")
        nodes[role] = [e["node"] for e in edges]
    if [n["id"] for n in nodes["admin"]] != [n["id"] for n in nodes["coordinator"]]:
        raise training.Mismatch(f"page of {first}: the row rule changed the rows")
    if any(
        a["code"] == c["code"] for a, c in zip(nodes["admin"], nodes["coordinator"], strict=True)
    ):
        raise training.Mismatch(f"page of {first} as coordinator: code is not masked")


async def _rounds(
    wrk: str | None, targets: dict[str, Target], *, connections: int, args: argparse.Namespace
) -> dict[str, list[Load]]:
    runs: dict[str, list[Load]] = {name: [] for name in targets}
    for _ in range(args.rounds):  # interleaved, so drift hits every server alike
        for name, target in targets.items():
            load = await measure(wrk, target, connections=connections, seconds=args.seconds)
            if load.errors:
                raise SystemExit(f"{name}: {load.errors} failed requests")
            runs[name].append(load)
    return runs


def _record(result: Comparison, scenario: str, runs: dict[str, list[Load]]) -> None:
    result.throughput[scenario] = {
        n: statistics.median(r.throughput for r in rs) for n, rs in runs.items()
    }
    result.p50_ms[scenario] = {n: statistics.median(r.p50_ms for r in rs) for n, rs in runs.items()}


def _print(result: Comparison, scenario: str, reference: str) -> None:
    print(f"{scenario}:")
    figures = result.throughput[scenario]
    for name, rps in figures.items():
        line = f"  {name:>18} {rps:9.1f} req/s  p50 {result.p50_ms[scenario][name]:7.1f} ms"
        if name != reference:
            line += f"  {rps / figures[reference]:5.2f} of {reference}"
        if name == RAPPORT and PGL in figures:
            line += f"  ({rps / figures[PGL]:4.2f}x {PGL})"
        print(line, flush=True)


async def _timed(
    result: Comparison, wrk: str | None, servers: _Servers, args: argparse.Namespace
) -> None:
    async def scenario(
        name: str, targets: dict[str, Target], connections: int, reference: str = LIMIT
    ) -> None:
        runs = await _rounds(wrk, targets, connections=connections, args=args)
        _record(result, name, runs)
        _print(result, name, reference)

    steps: list[Callable[[], Awaitable[None]]] = []
    for first in args.pages:
        steps.append(
            lambda f=first: scenario(  # type: ignore[misc]
                f"read {f} rows, {args.connections} conn",
                _list_targets(servers, f),
                args.connections,
            )
        )
    for first in args.pages:
        steps.append(
            lambda f=first: scenario(  # type: ignore[misc]
                f"read {f} rows as coordinator vs admin, {args.connections} conn",
                _role_targets(servers, f),
                args.connections,
                "admin",
            )
        )
    steps.append(
        lambda: scenario(
            f"create one course, {args.connections} conn", _write_targets(servers), args.connections
        )
    )
    for connections in args.curve:
        steps.append(
            lambda c=connections: scenario(  # type: ignore[misc]
                f"read {args.pages[0]} rows, {c} conn", _list_targets(servers, args.pages[0]), c
            )
        )
    for step in steps:
        await step()
