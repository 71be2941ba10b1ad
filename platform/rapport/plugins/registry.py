"""The frozen set of plug-ins this process offers, built once by :mod:`rapport.plugins.loader`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from packaging.version import Version

from rapport.errors import NotFound
from rapport.metadata.documents import Document
from rapport.plugins.spec import PluginSpec

__all__ = ["LoadedPlugin", "Registry"]


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    """A validated plug-in: its spec, parsed version and documents (source ``plugin:<name>``)."""

    spec: PluginSpec
    version: Version
    documents: tuple[Document, ...]

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class Registry:
    plugins: Mapping[str, LoadedPlugin]

    @classmethod
    def of(cls, plugins: Mapping[str, LoadedPlugin]) -> Registry:
        return cls(MappingProxyType(dict(sorted(plugins.items()))))

    def __iter__(self) -> Iterator[LoadedPlugin]:
        return iter(self.plugins.values())

    def __contains__(self, name: object) -> bool:
        return name in self.plugins

    def get(self, name: str) -> LoadedPlugin:
        plugin = self.plugins.get(name)
        if plugin is None:
            known = ", ".join(self.plugins) or "none"
            raise NotFound(
                f"There is no plug-in {name!r} in this installation (available: {known}).",
                hint="Install its Python package (pip install ...) and restart, or check the "
                "name with `rapport plugin list`.",
            )
        return plugin

    def owner_of(self, source: str) -> LoadedPlugin | None:
        """The plug-in whose documents carry ``source`` (``plugin:<name>``), if any."""
        name = source.removeprefix("plugin:")
        return self.plugins.get(name) if source.startswith("plugin:") else None
