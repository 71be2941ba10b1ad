"""Discover plug-ins through the entry-point group ``rapport.plugins`` and validate them.

Validation happens once, at start-up, and reports every problem of every plug-in together,
each with the plug-in named: entry points that fail to load, bad names or versions, documents
that do not parse or compile (with the kernel's and the dependencies' documents), documents
outside the plug-in's namespace, unknown hook methods, bad job names or handlers, upgrade steps for versions the plug-in
does not reach, missing or incompatible dependencies, unsupported platform versions and
dependency cycles. A process with an invalid plug-in does not start half-working.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from jsonschema import Draft202012Validator
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

import rapport
from rapport.errors import MetadataInvalid, PluginInvalid
from rapport.metadata.bundle import compile_tenant
from rapport.metadata.documents import Document, kernel_documents, read_folder
from rapport.plugins.registry import LoadedPlugin, Registry
from rapport.plugins.spec import DOCUMENT_FOLDERS, Hooks, PluginSpec

__all__ = ["ENTRY_POINT_GROUP", "build_registry", "discover", "installed_registry"]

ENTRY_POINT_GROUP = "rapport.plugins"
# Plug-in names become schema, table and source names: keep them to identifier characters.
PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_BASE_HOOKS = frozenset(n for n in dir(Hooks) if not n.startswith("_"))

Problem = tuple[str, str]  # (plug-in name, what is wrong)


def discover() -> tuple[list[PluginSpec], list[Problem]]:
    """Load every entry point of the group; a failing one is a problem, not a crash."""
    specs: list[PluginSpec] = []
    problems: list[Problem] = []
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_name):
        try:
            loaded = entry.load()
        except Exception as exc:  # any import error of a third-party package is its problem
            problems.append((entry.name, f"entry point {entry.value!r} fails to load: {exc!r}"))
            continue
        if not isinstance(loaded, PluginSpec):
            problems.append(
                (
                    entry.name,
                    f"entry point {entry.value!r} is a {type(loaded).__name__}, "
                    "not a rapport.plugins.PluginSpec",
                )
            )
            continue
        if loaded.name != entry.name:
            problems.append(
                (
                    entry.name,
                    f"the entry point is named {entry.name!r} but the spec says "
                    f"{loaded.name!r}; they must be equal",
                )
            )
            continue
        specs.append(loaded)
    return specs, problems


def _ep_name(entry: importlib.metadata.EntryPoint) -> str:
    return entry.name


@functools.cache
def installed_registry() -> Registry:
    """The registry of the plug-ins installed in this Python environment (built once)."""
    specs, problems = discover()
    return build_registry(specs, problems=problems)


def build_registry(
    specs: Iterable[PluginSpec],
    *,
    problems: Iterable[Problem] = (),
    platform_version: str = rapport.__version__,
) -> Registry:
    """Validate ``specs`` together; raise PluginInvalid listing all problems of all of them."""
    found: list[Problem] = list(problems)
    by_name: dict[str, PluginSpec] = {}
    versions: dict[str, Version] = {}
    for spec in specs:
        if spec.name in by_name:
            found.append((spec.name, "two packages provide a plug-in of this name"))
            continue
        by_name[spec.name] = spec
        found.extend((spec.name, p) for p in _check_manifest(spec))
        try:
            versions[spec.name] = Version(spec.version)
        except InvalidVersion:
            found.append((spec.name, f"version {spec.version!r} is not a valid version"))
        found.extend((spec.name, p) for p in _check_platform(spec, platform_version))
        found.extend((spec.name, p) for p in _check_hooks(spec))
        found.extend((spec.name, p) for p in _check_jobs(spec))
    requirements: dict[str, list[Requirement]] = {}
    for spec in by_name.values():
        reqs, req_problems = _check_requires(spec, by_name, versions)
        requirements[spec.name] = reqs
        found.extend((spec.name, p) for p in req_problems)
        found.extend((spec.name, p) for p in _check_upgrades(spec, versions.get(spec.name)))
    found.extend(_cycles(requirements))
    documents: dict[str, tuple[Document, ...]] = {}
    for spec in by_name.values():
        docs, doc_problems = _read_documents(spec)
        documents[spec.name] = docs
        found.extend((spec.name, p) for p in doc_problems)
    if not found:
        for spec in by_name.values():
            found.extend((spec.name, p) for p in _compile(spec, requirements, documents))
    if found:
        raise PluginInvalid(found)
    return Registry.of(
        {
            name: LoadedPlugin(spec=spec, version=versions[name], documents=documents[name])
            for name, spec in by_name.items()
        }
    )


@functools.cache
def _manifest_validator() -> Draft202012Validator:
    text = resources.files("rapport").joinpath("_data", "schemas", "plugin.schema.json")
    return Draft202012Validator(json.loads(text.read_text(encoding="utf-8")))


def _check_manifest(spec: PluginSpec) -> list[str]:
    """The spec's data against ``schemas/plugin.schema.json``."""
    manifest = {
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "requires": list(spec.requires),
        "platform": spec.platform,
        "upgrades": list(spec.upgrades),
    }
    return [
        f"{'/'.join(map(str, error.absolute_path)) or 'manifest'}: {error.message}"
        for error in sorted(_manifest_validator().iter_errors(manifest), key=str)
    ]


def _check_platform(spec: PluginSpec, platform_version: str) -> list[str]:
    try:
        supported = SpecifierSet(spec.platform)
    except InvalidSpecifier:
        return [f"platform {spec.platform!r} is not a version specifier such as '>=0.1,<1'"]
    if not supported.contains(Version(platform_version), prereleases=True):
        return [f"supports Rapport {spec.platform}, but this is Rapport {platform_version}"]
    return []


def _check_hooks(spec: PluginSpec) -> list[str]:
    if not isinstance(spec.hooks, Hooks):
        return [f"hooks is a {type(spec.hooks).__name__}, not a rapport.plugins.Hooks subclass"]
    problems = []
    for name, member in inspect.getmembers(type(spec.hooks)):
        if name.startswith("_") or name in _BASE_HOOKS or not callable(member):
            continue
        known = ", ".join(sorted(_BASE_HOOKS))
        problems.append(
            f"{type(spec.hooks).__name__}.{name} is not a hook (hooks are: {known}); "
            "rename it, or make it private with a leading underscore"
        )
    return problems


def _check_requires(
    spec: PluginSpec, by_name: Mapping[str, PluginSpec], versions: Mapping[str, Version]
) -> tuple[list[Requirement], list[str]]:
    reqs: list[Requirement] = []
    problems: list[str] = []
    for text in spec.requires:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"requirement {text!r} is malformed: {exc}")
            continue
        reqs.append(req)
        if req.name not in by_name:
            problems.append(f"requires plug-in {req.name!r} ({text}), which is not installed")
            continue
        have = versions.get(req.name)
        if have is not None and not req.specifier.contains(have, prereleases=True):
            problems.append(f"requires {text}, but {req.name} {have} is installed")
    return reqs, problems


def _check_upgrades(spec: PluginSpec, version: Version | None) -> list[str]:
    problems = []
    for key, step in spec.upgrades.items():
        try:
            target = Version(key)
        except InvalidVersion:
            problems.append(f"upgrade step key {key!r} is not a version")
            continue
        if version is not None and target > version:
            problems.append(f"upgrade step for {key} is beyond the plug-in's version {version}")
        if not inspect.iscoroutinefunction(step):
            problems.append(f"upgrade step for {key} must be an async function (conn, context)")
    return problems


def _check_jobs(spec: PluginSpec) -> list[str]:
    problems = []
    for name, handler in spec.jobs.items():
        if not JOB_NAME.match(name):
            problems.append(
                f"job name {name!r} must be lowercase letters, digits or _, starting with a letter"
            )
        if not inspect.iscoroutinefunction(handler):
            problems.append(f"job {name!r} must be an async function (context, payload)")
    return problems


def _cycles(requirements: Mapping[str, list[Requirement]]) -> list[Problem]:
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        for req in requirements.get(name, []):
            if req.name in path:
                cycle = [*path[path.index(req.name) :], req.name]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    problems.append((cycle[0], "dependency cycle: " + " -> ".join(cycle)))
            elif req.name in requirements:
                visit(req.name, [*path, req.name])

    for name in requirements:
        visit(name, [name])
    return problems


def _package_root(spec: PluginSpec) -> Path:
    if isinstance(spec.package, Path):
        return spec.package
    # Plug-ins are installed as regular (or editable) packages, whose files are real paths.
    return Path(str(resources.files(spec.package)))


def _read_documents(spec: PluginSpec) -> tuple[tuple[Document, ...], list[str]]:
    try:
        root = _package_root(spec)
    except (ModuleNotFoundError, TypeError) as exc:
        return (), [f"package {spec.package!r} cannot be found: {exc}"]
    documents: list[Document] = []
    problems: list[str] = []
    for folder in DOCUMENT_FOLDERS:
        path = root / folder
        if not path.is_dir():
            continue
        try:
            documents.extend(read_folder(path, source=spec.source))
        except MetadataInvalid as invalid:
            problems.extend(f"{folder}/{p}" for p in invalid.problems)
    for doc in documents:
        if doc.id.partition("/")[0] != spec.name:
            problems.append(
                f"document {doc.id} is outside the plug-in's namespace; "
                f"name it {spec.name}/{doc.id.partition('/')[2]}"
            )
    return tuple(documents), problems


def _closure(name: str, requirements: Mapping[str, list[Requirement]]) -> list[str]:
    seen: list[str] = []
    stack = [name]
    while stack:
        current = stack.pop()
        for req in requirements.get(current, []):
            if req.name not in seen:
                seen.append(req.name)
                stack.append(req.name)
    return seen


def _compile(
    spec: PluginSpec,
    requirements: Mapping[str, list[Requirement]],
    documents: Mapping[str, tuple[Document, ...]],
) -> list[str]:
    # A plug-in is compiled as a tenant would get it installed alone with its dependencies.
    deps = [doc for dep in _closure(spec.name, requirements) for doc in documents[dep]]
    try:
        compile_tenant(kernel_documents() + tuple(deps) + documents[spec.name])
    except MetadataInvalid as invalid:
        return [f"documents do not compile: {p}" for p in invalid.problems]
    return []
