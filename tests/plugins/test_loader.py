from __future__ import annotations

from pathlib import Path

import pytest

from rapport.errors import PluginInvalid
from rapport.plugins import Hooks, PluginSpec, build_registry
from rapport.plugins.loader import discover
from tests.plugins.fixtures import HERE, V1

EMPTY = HERE / "empty"


class MisspeltHooks(Hooks):
    async def after_craete(self) -> None:  # a typo: never a hook
        return None

    async def _helper(self) -> None:  # private helpers are fine
        return None


def _spec(name: str, **kwargs: object) -> PluginSpec:
    return PluginSpec(
        name=name, version=str(kwargs.pop("version", "1.0.0")), package=EMPTY, **kwargs
    )  # type: ignore[arg-type]


def _problems(excinfo: pytest.ExceptionInfo[PluginInvalid]) -> list[tuple[str, str]]:
    return list(excinfo.value.problems)


def test_a_valid_set_builds_a_frozen_registry() -> None:
    # when
    registry = build_registry([V1, _spec("needs_tplug", requires=("tplug>=1,<2",))])

    # then
    assert [p.name for p in registry] == ["needs_tplug", "tplug"]
    assert [d.id for d in registry.get("tplug").documents] == ["tplug/person"]
    assert registry.get("tplug").documents[0].source == "plugin:tplug"
    with pytest.raises(TypeError):
        registry.plugins["x"] = registry.get("tplug")  # type: ignore[index]


def test_every_problem_of_every_plugin_is_reported_at_once() -> None:
    # given plug-ins with one problem each
    specs = [
        _spec("typo", hooks=MisspeltHooks()),
        _spec("orphan", requires=("missing>=1",)),
        _spec("picky", requires=("tplug>=2",)),
        V1,
        _spec("cyc_a", requires=("cyc_b",)),
        _spec("cyc_b", requires=("cyc_a",)),
        _spec("future", platform=">=99"),
        _spec("badver", version="one"),
        PluginSpec(name="bad", version="1.0.0", package=HERE / "bad"),
        _spec("Bad-Name"),
    ]

    # when
    with pytest.raises(PluginInvalid) as excinfo:
        build_registry(specs)

    # then each is named with its plug-in
    problems = _problems(excinfo)
    text = "\n".join(f"{n}: {p}" for n, p in problems)
    assert any(n == "typo" and "after_craete is not a hook" in p for n, p in problems), text
    assert any(n == "orphan" and "'missing'" in p and "not installed" in p for n, p in problems)
    assert any(n == "picky" and "tplug 1.0.0 is installed" in p for n, p in problems), text
    assert any("dependency cycle: cyc_a -> cyc_b -> cyc_a" in p for _, p in problems), text
    assert any(n == "future" and "supports Rapport >=99" in p for n, p in problems), text
    assert any(n == "badver" and "not a valid version" in p for n, p in problems), text
    assert any(n == "bad" and "elsewhere/other is outside" in p for n, p in problems), text
    assert any(
        n == "Bad-Name" and p.startswith("name: 'Bad-Name' does not match") for n, p in problems
    ), text
    assert not any(n == "tplug" for n, _ in problems)


def test_documents_that_do_not_compile_are_reported_with_the_plugin() -> None:
    # given a plug-in whose only problem is a document that does not compile
    folder = HERE / "bad"
    spec = PluginSpec(name="bad", version="1.0.0", package=folder)

    # when
    with pytest.raises(PluginInvalid) as excinfo:
        build_registry([spec])

    # then the namespace problem is reported; compile problems follow once it is fixed
    assert any("outside the plug-in's namespace" in p for _, p in _problems(excinfo))


def test_compile_problems_name_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "entities").mkdir()
    (tmp_path / "entities" / "thing.json").write_text(
        '{"$id": "worse/thing", "type": "object", "properties": {"n": {"type": "nonsense"}}}'
    )
    with pytest.raises(PluginInvalid) as excinfo:
        build_registry([PluginSpec(name="worse", version="1.0.0", package=tmp_path)])
    (name, problem), *_ = _problems(excinfo)
    assert name == "worse"
    assert "documents do not compile" in problem and "worse/thing" in problem


def test_upgrade_steps_must_be_async_and_within_the_version() -> None:
    def sync_step(conn: object, context: object) -> None:
        return None

    spec = _spec("steps", upgrades={"2.0.0": sync_step, "x": sync_step})  # type: ignore[dict-item]
    with pytest.raises(PluginInvalid) as excinfo:
        build_registry([spec])
    text = "\n".join(p for _, p in _problems(excinfo))
    assert "beyond the plug-in's version 1.0.0" in text
    assert "must be an async function" in text
    assert "'x' is not a version" in text


def test_the_bundled_plugins_are_discovered_through_entry_points() -> None:
    specs, problems = discover()
    assert problems == []
    assert {"org", "complaints"} <= {s.name for s in specs}
