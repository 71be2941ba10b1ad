"""The shipped templates (eNPS pulse, engagement, onboarding 30/60/90, exit, manager feedback)
and the shipped question library, read from the package's ``templates/`` folder once."""

from __future__ import annotations

import functools
import json
from importlib import resources
from types import MappingProxyType
from typing import Any

from rapport.metadata.ir import JsonValue, freeze_json

__all__ = ["TEMPLATE_NAMES", "library", "template", "templates"]

TEMPLATE_NAMES = ("enps-pulse", "engagement", "onboarding", "exit", "manager-feedback")


def _read(name: str) -> Any:
    path = resources.files("rapport_surveys").joinpath("templates", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def templates() -> MappingProxyType[str, JsonValue]:
    """Template key -> its definition (frozen), in the order above."""
    return MappingProxyType({name: freeze_json(_read(name)) for name in TEMPLATE_NAMES})


def template(name: str) -> JsonValue | None:
    return templates().get(name)


@functools.cache
def library() -> tuple[JsonValue, ...]:
    """The shipped library: every scored or choice question of the templates, by key."""
    return tuple(freeze_json(q) for q in _read("library")["questions"])
