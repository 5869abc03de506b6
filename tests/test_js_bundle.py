"""The browser side: node's own tests of js/src, and the Python bundler that turns js/src into
the widget's ES module (valid JS, every module included, loud on convention breaks)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from vatel_nb.widget._bundle import (
    HEADER,
    BundleError,
    build_bundle,
    build_worklet_source,
    js_source_dir,
    widget_esm,
)

REPO = Path(__file__).resolve().parent.parent
JS_SRC = REPO / "js" / "src"
NODE = shutil.which("node")


def _node() -> str:
    if NODE is None:
        pytest.fail("node is required for the JS tests (apt-get install nodejs); it is present in CI")
    return NODE


def _modules(text: str) -> list[str]:
    return re.findall(r"^// ---- module: (\S+) ----$", text, re.M)


def test_node_unit_tests_pass() -> None:
    proc = subprocess.run(
        [_node(), "--test", "test/"], cwd=REPO / "js", capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"^# fail 0$", proc.stdout, re.M)
    assert int(re.search(r"^# pass (\d+)$", proc.stdout, re.M).group(1)) >= 40


def test_bundle_is_valid_js_and_contains_every_module(tmp_path: Path) -> None:
    esm = widget_esm()
    assert esm is widget_esm(), "cached"
    out = tmp_path / "widget.mjs"
    out.write_text(esm, encoding="utf-8")
    proc = subprocess.run([_node(), "--check", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    worklet = build_worklet_source(JS_SRC)
    wfile = tmp_path / "worklet.js"
    wfile.write_text(worklet, encoding="utf-8")
    proc = subprocess.run([_node(), "--check", str(wfile)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    main, wk = _modules(esm), _modules(worklet)
    assert main[-1] == "widget.js"
    assert {"capture.worklet.js", "playback.worklet.js", "ring.js", "resampler.js", "pcm16.js"} <= set(wk)
    view = _modules(widget_esm("view.js"))  # the call view's entry: the other bundle of js/src
    assert view[-1] == "view.js"
    assert set(main) | set(wk) | set(view) == {p.name for p in JS_SRC.glob("*.js")}
    assert not re.search(r"^\s*import\s", esm, re.M), "no import statements left"
    assert len(re.findall(r"^export ", esm, re.M)) == 1 and "export default {" in esm
    assert 'registerProcessor("vatel-capture"' in worklet and 'registerProcessor("vatel-playback"' in worklet
    assert 'registerProcessor(\\"vatel-playback\\"' in esm, "the worklet source is embedded as a string"
    assert not re.search(r"^export ", worklet, re.M)


def test_bundle_evaluates_in_node_and_exports_the_anywidget_entry(tmp_path: Path) -> None:
    (tmp_path / "widget.mjs").write_text(widget_esm(), encoding="utf-8")
    script = (
        "const m = await import(process.argv[1]);"
        "const d = m.default;"
        "console.log(JSON.stringify([typeof d.initialize, typeof d.render, Object.keys(m)]));"
    )
    proc = subprocess.run(
        [_node(), "--input-type=module", "-e", script, (tmp_path / "widget.mjs").as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '["function","function",["default"]]'


def test_loader_finds_js_both_ways(tmp_path: Path) -> None:
    # editable install / source checkout: vatel_nb/widget → ../../js/src
    assert js_source_dir() == JS_SRC
    # installed wheel: vatel_nb/widget/_js (force-included from js/src)
    pkg = tmp_path / "site-packages" / "vatel_nb" / "widget"
    shutil.copytree(JS_SRC, pkg / "_js")
    assert js_source_dir(pkg) == pkg / "_js"
    assert build_bundle(pkg / "_js") == build_bundle(JS_SRC)
    # neither: a clear error
    with pytest.raises(BundleError, match=r"[Rr]einstall"):
        js_source_dir(tmp_path / "empty" / "vatel_nb" / "widget")


_WIDGET = (
    'import { a } from "./a.js";\nimport { WORKLET_SOURCE } from "./worklet_source.js";\n'
    "export default { a, WORKLET_SOURCE };\n"
)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    base = {
        "widget.js": _WIDGET,
        "a.js": "export function a() {\n  return 1;\n}\n",
        "worklet_source.js": "export const WORKLET_SOURCE = null;\n",
        "x.worklet.js": 'import { a } from "./a.js";\nregisterProcessor("x", class {});\n',
    }
    base.update(files)
    for name, text in base.items():
        (src / name).write_text(text, encoding="utf-8")
    return src


def test_bundler_orders_dependencies_and_embeds_the_worklet(tmp_path: Path) -> None:
    src = _tree(tmp_path, {})
    text = build_bundle(src)
    assert _modules(text) == ["a.js", "worklet_source.js", "widget.js"]
    assert HEADER.format(name="a.js") in text
    assert 'const WORKLET_SOURCE = "' in text and 'registerProcessor(\\"x\\"' in text
    assert "export function a" not in text and "function a()" in text


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {
                "a.js": 'import { b } from "./b.js";\nexport function a() {}\n',
                "b.js": 'import { a } from "./a.js";\nexport function b() {}\n',
            },
            r"import cycle in js/src: a\.js → b\.js → a\.js",
        ),
        (
            {"a.js": 'import { z } from "./zz.js";\nexport function a() {}\n'},
            r"a\.js:1: imports \./zz\.js, which does not exist",
        ),
        (
            {"a.js": 'import { nope } from "./worklet_source.js";\nexport function a() {}\n'},
            r"does not export nope",
        ),
        (
            {
                "a.js": 'import { b as c } from "./b.js";\nexport function a() {}\n',
                "b.js": "export function b() {}\n",
            },
            r"a\.js:1: .*no aliases",
        ),
        ({"a.js": 'import * as b from "./b.js";\nexport function a() {}\n'}, r"unsupported import"),
        ({"a.js": "export function a() {}\nexport { a as b };\n"}, r"a\.js:2: unsupported export"),
        ({"a.js": "export default function a() {}\n"}, r"only allowed in the entry"),
        ({"a.js": "export function a() {}\nconst { x } = globalThis;\n"}, r"destructuring"),
        (
            {"a.js": "export function a() {}\nconst dup = 1;\n", "widget.js": _WIDGET + "const dup = 2;\n"},
            r"'dup' is declared in both a\.js and widget\.js",
        ),
        ({"orphan.js": "export const o = 1;\n"}, r"not reachable .*orphan\.js"),
    ],
)
def test_bundler_fails_loudly(tmp_path: Path, files: dict[str, str], message: str) -> None:
    src = _tree(tmp_path, files)
    with pytest.raises(BundleError, match=message):
        build_bundle(src)
