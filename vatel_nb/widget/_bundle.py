"""Build the widget's ES module for anywidget from the plain modules in ``js/src``.

No node, no npm, no build step for users: this concatenates the modules in dependency order.

Module conventions (checked; a violation raises :class:`BundleError` naming file and line):

- imports: one line each, at column 0, ``import { a, b } from "./x.js";`` (relative, no aliases,
  no default or namespace imports);
- exports: only ``export function|class|const|let NAME`` (``async function`` too) at column 0;
  ``export default`` only in the entry module (``widget.js``);
- top-level names are unique across the modules that are bundled together (one shared scope);
- ``*.worklet.js`` files are AudioWorklet entries: with their imports they are concatenated into
  one classic script, embedded in the main module as the string ``WORKLET_SOURCE`` (the module
  ``worklet_source.js`` is a placeholder that the bundle replaces), and loaded from a Blob URL.

Files come from ``vatel_nb/widget/_js/`` in an installed wheel (pyproject force-includes ``js/src``
there), else from the repository's ``js/src`` (editable install).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from vatel_nb._errors import VatelError

__all__ = [
    "BundleError",
    "build_bundle",
    "build_worklet_source",
    "js_source_dir",
    "widget_esm",
]

ENTRY = "widget.js"
#: Every anywidget entry module in js/src, each bundled on its own: the call widget, the call view.
ENTRIES = (ENTRY, "view.js")
WORKLET_PLACEHOLDER = "worklet_source.js"
WORKLET_SUFFIX = ".worklet.js"
HEADER = "// ---- module: {name} ----"

_IMPORT = re.compile(r'^import\s*\{\s*([\w$\s,]*?)\s*,?\s*\}\s*from\s*"\./([\w.\-]+\.js)"\s*;?\s*$')
_EXPORT = re.compile(r"^export\s+((?:async\s+)?function\*?|class|const|let)\s+([\w$]+)")
_DECL = re.compile(r"^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+([\w$]+)")
_DESTRUCTURE = re.compile(r"^(?:export\s+)?(?:const|let|var)\s*[{\[]")


class BundleError(VatelError):
    """js/src breaks a bundling convention (see the module docstring); the message says where."""


@dataclass(frozen=True)
class _Module:
    name: str
    imports: tuple[tuple[str, tuple[str, ...], int], ...]  # (file, names, line number)
    exports: frozenset[str]
    declared: tuple[str, ...]
    body: str  # source with import lines removed and `export ` stripped


def js_source_dir(package_dir: Path | None = None) -> Path:
    """The directory holding the JS modules: ``<package_dir>/_js`` (wheel) or the repo's ``js/src``.

    ``package_dir`` defaults to this file's directory (``vatel_nb/widget``).
    """
    pkg = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    installed = pkg / "_js"
    if (installed / ENTRY).is_file():
        return installed
    repo = pkg.parent.parent / "js" / "src"
    if (repo / ENTRY).is_file():
        return repo
    raise BundleError(
        f"the widget's JavaScript is missing: looked for {installed / ENTRY} (installed wheel) and "
        f"{repo / ENTRY} (source checkout). Reinstall vatel-nb (pip install --force-reinstall vatel-nb)."
    )


def _parse(path: Path, *, entry: bool) -> _Module:
    name = path.name
    imports: list[tuple[str, tuple[str, ...], int]] = []
    exports: set[str] = set()
    declared: list[str] = []
    out: list[str] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{name}:{lineno}"
        if line.startswith("import"):
            m = _IMPORT.match(line)
            if not m:
                raise BundleError(
                    f"{where}: unsupported import {line.strip()!r}; write it on one line as "
                    'import { a, b } from "./x.js"; (relative, no aliases, no default/namespace imports)'
                )
            names = tuple(n.strip() for n in m.group(1).split(",") if n.strip())
            for n in names:
                if not re.fullmatch(r"[\w$]+", n):
                    raise BundleError(f"{where}: import name {n!r} is not supported (no aliases)")
            imports.append((m.group(2), names, lineno))
            continue
        if _DESTRUCTURE.match(line):
            raise BundleError(
                f"{where}: top-level destructuring is not supported; declare one name per statement"
            )
        d = _DECL.match(line)
        if d:
            declared.append(d.group(1))
        if line.startswith("export"):
            m = _EXPORT.match(line)
            if m:
                exports.add(m.group(2))
                line = line[len("export") :].lstrip()
            elif line.startswith("export default") and entry:
                pass
            else:
                raise BundleError(
                    f"{where}: unsupported export {line.strip()!r}; "
                    "use `export function|class|const|let NAME`"
                    + (" (`export default` is only allowed in the entry module)" if "default" in line else "")
                )
        out.append(line)
    return _Module(name, tuple(imports), frozenset(exports), tuple(declared), "\n".join(out).rstrip() + "\n")


def _order(src_dir: Path, roots: list[str], *, entry: str | None) -> list[_Module]:
    """Modules reachable from ``roots``, dependencies first; loud on cycles and unknown imports."""
    parsed: dict[str, _Module] = {}
    order: list[_Module] = []
    state: dict[str, str] = {}  # name → "visiting" | "done"

    def visit(name: str, stack: list[str], origin: str) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = [*stack[stack.index(name) :], name]
            raise BundleError(
                f"import cycle in js/src: {' → '.join(cycle)}; move the shared code into its own module"
            )
        path = src_dir / name
        if not path.is_file():
            raise BundleError(f"{origin}: imports ./{name}, which does not exist in {src_dir}")
        mod = parsed.get(name) or _parse(path, entry=name == entry or name in ENTRIES)
        parsed[name] = mod
        state[name] = "visiting"
        for dep, names, lineno in mod.imports:
            visit(dep, [*stack, name], f"{name}:{lineno}")
            missing = [n for n in names if n not in parsed[dep].exports]
            if missing:
                raise BundleError(f"{name}:{lineno}: ./{dep} does not export {', '.join(missing)}")
        state[name] = "done"
        order.append(mod)

    for root in roots:
        visit(root, [], "bundle root")
    seen: dict[str, str] = {}
    for mod in order:
        for n in mod.declared:
            if n in seen:
                raise BundleError(
                    f"top-level name {n!r} is declared in both {seen[n]} and {mod.name}; "
                    "bundled modules share one scope, so rename one of them"
                )
            seen[n] = mod.name
    return order


def build_worklet_source(src_dir: Path) -> str:
    """Every ``*.worklet.js`` in ``src_dir`` with its imports, as one AudioWorklet script."""
    roots = sorted(p.name for p in src_dir.glob(f"*{WORKLET_SUFFIX}"))
    if not roots:
        raise BundleError(f"no *{WORKLET_SUFFIX} files in {src_dir}")
    mods = _order(src_dir, roots, entry=None)
    parts = ["// vatel_nb AudioWorklet processors (generated by vatel_nb/widget/_bundle.py; do not edit)"]
    parts += [HEADER.format(name=m.name) + "\n" + m.body for m in mods]
    return "\n".join(parts)


def build_bundle(src_dir: Path, entry: str = ENTRY) -> str:
    """The complete ES module for anywidget: modules reachable from ``entry``, dependencies first."""
    src_dir = Path(src_dir)
    mods = _order(src_dir, [entry], entry=entry)
    worklet = build_worklet_source(src_dir)
    parts = ["// vatel_nb widget (generated by vatel_nb/widget/_bundle.py from js/src; do not edit)"]
    for m in mods:
        body = m.body
        if m.name == WORKLET_PLACEHOLDER:
            if "WORKLET_SOURCE" not in m.exports:
                raise BundleError(f"{WORKLET_PLACEHOLDER} must `export const WORKLET_SOURCE = null;`")
            body = f"const WORKLET_SOURCE = {json.dumps(worklet)};\n"
        parts.append(HEADER.format(name=m.name) + "\n" + body)
    others = [e for e in ENTRIES if e != entry and (src_dir / e).is_file()]
    bundled = {m.name for m in mods} | {n for n in re.findall(r"^// ---- module: (\S+) ----$", worklet, re.M)}
    bundled |= {m.name for m in _order(src_dir, others, entry=None)} if others else set()
    unused = sorted(p.name for p in src_dir.glob("*.js") if p.name not in bundled)
    if unused:
        raise BundleError(
            f"js/src modules not reachable from {', '.join([entry, *others])} or a worklet: "
            f"{', '.join(unused)}; import or delete them"
        )
    return "\n".join(parts)


_CACHE: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], str] = {}


def widget_esm(entry: str = ENTRY) -> str:
    """The ES module text of ``entry`` (for ``AnyWidget._esm``; one of :data:`ENTRIES`); rebuilt
    only when a file changed."""
    src = js_source_dir()
    files = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in src.glob("*.js")))
    key = (str(src), entry, files)
    text = _CACHE.get(key)
    if text is None:
        text = build_bundle(src, entry)
        for k in [k for k in _CACHE if k[:2] == key[:2]]:
            del _CACHE[k]
        _CACHE[key] = text
    return text
