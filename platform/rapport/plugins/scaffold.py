"""``rapport plugin new NAME``: a partner's plug-in package, ready to ``pip install``.

The package has the shape of the bundled ones (plugins/org, plugins/complaints): a pyproject
with the ``rapport.plugins`` entry point, ``rapport_<name>/__init__.py`` with the
``PluginSpec``, one entity in ``entities/``, and one test that validates the plug-in through
the same loader Rapport runs at start-up, so it passes as soon as the package is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import rapport
from rapport.errors import ConstraintViolation, FieldError, ValidationFailed
from rapport.plugins.loader import PLUGIN_NAME

__all__ = ["scaffold"]


def scaffold(name: str, parent: Path) -> list[Path]:
    """Create ``parent/<name>/``; returns the files written. Refuses to overwrite anything."""
    if not PLUGIN_NAME.match(name):
        message = f"{name!r} is not a valid plug-in name."
        raise ValidationFailed(
            [FieldError(("name",), message)],
            message=message,
            hint="Use 2-31 lowercase letters, digits or '_', starting with a letter "
            "(e.g. 'surveys').",
        )
    root = parent / name
    if root.exists():
        raise ConstraintViolation(
            f"{root} already exists.", hint="Choose another name, or remove the folder first."
        )
    module = f"rapport_{name}"
    title = name.replace("_", " ").title()
    files = {
        "pyproject.toml": _PYPROJECT.format(name=name, module=module, title=title),
        "README.md": _README.format(name=name, module=module),
        f"{module}/__init__.py": _INIT.format(
            name=name, title=title, title_class=_title_class(title), platform=_platform()
        ),
        f"{module}/hooks.py": _HOOKS.format(title_class=_title_class(title)),
        f"{module}/entities/item.json": json.dumps(_entity(name, title), indent=2) + "\n",
        "tests/test_plugin.py": _TEST.format(name=name, module=module),
    }
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _platform() -> str:
    major, minor, *_ = (int(p) for p in rapport.__version__.split("."))
    upper = f"{major + 1}" if major else f"0.{minor + 1}"
    return f">={major}.{minor},<{upper}"


def _entity(name: str, title: str) -> dict[str, object]:
    return {
        "$id": f"{name}/item",
        "title": f"{title} item",
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "notes": {"type": "string", "x-kind": "text"},
        },
        "required": ["name"],
    }


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "rapport-{name}"
version = "0.1.0"
description = "Rapport plug-in: {title}"
requires-python = ">=3.11"
dependencies = ["rapport"]

[project.optional-dependencies]
test = ["pytest>=8"]

# Rapport finds the plug-in through this entry point (name = the plug-in's name).
[project.entry-points."rapport.plugins"]
{name} = "{module}:plugin"

[tool.setuptools.packages.find]
include = ["{module}*"]

[tool.setuptools.package-data]
{module} = ["entities/*.json", "forms/*.json", "workflows/*.json", "permissions/*.json"]
"""

_README = """\
# rapport-{name}

A Rapport plug-in. Documents live in `{module}/entities/` (entities), `forms/`,
`workflows/` and `permissions/`; hooks in `{module}/hooks.py`. See Rapport's
`docs/plugins.md` for the whole guide.

```sh
pip install -e .            # into the environment Rapport runs in
pytest tests                # validates the plug-in as Rapport does at start-up
rapport plugin list         # shows {name}
rapport plugin install --tenant SLUG {name}
```
"""

_INIT = '''\
"""Rapport plug-in ``{name}``."""

from __future__ import annotations

from rapport.plugins import PluginSpec

from rapport_{name}.hooks import {title_class}Hooks

__all__ = ["plugin"]

plugin = PluginSpec(
    name="{name}",
    version="0.1.0",
    package=__name__,
    description="{title}",
    platform="{platform}",
    hooks={title_class}Hooks(),
)
'''

_HOOKS = '''\
"""Typed hooks: override only methods of rapport.plugins.Hooks (others are reported)."""

from __future__ import annotations

from rapport.db.database import Connection
from rapport.plugins import Hooks
from rapport.records.change import PendingChange


class {title_class}Hooks(Hooks):
    async def before_create(self, conn: Connection, change: PendingChange) -> PendingChange:
        # Runs inside the write's transaction for this plug-in's entities; raise a RapportError
        # to refuse the write, or return change.with_input({{...}}) to adjust it.
        return change
'''

_TEST = '''\
"""Validates the installed plug-in exactly as Rapport does at start-up."""

from __future__ import annotations

from rapport.plugins import build_registry
from rapport.plugins.loader import discover

from {module} import plugin


def test_the_plugin_is_valid_and_ships_its_entity() -> None:
    registry = build_registry([plugin])
    assert [d.id for d in registry.get("{name}").documents] == ["{name}/item"]


def test_rapport_discovers_the_installed_package() -> None:
    specs, problems = discover()
    assert problems == []
    assert "{name}" in {{s.name for s in specs}}
'''


def _title_class(title: str) -> str:
    return title.replace(" ", "")
