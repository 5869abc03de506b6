"""Every name vatel_nb exports resolves, and `import vatel_nb` stays light."""

import subprocess
import sys

import vatel_nb


def test_every_exported_name_resolves():
    for name in vatel_nb.__all__:
        assert getattr(vatel_nb, name) is not None, name


def test_import_is_lazy():
    code = "import sys, vatel_nb; print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_matches_the_lazy_table():
    assert set(vatel_nb.__all__) == set(vatel_nb._EXPORTS) | {"__version__"}


def test_pytest_plugin_import_is_light():
    # loaded into every pytest run on a machine with vatel-nb installed (pytest11 entry point)
    code = (
        "import sys, vatel_nb.pytest_plugin; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'duckdb', 'vatel_nb.suite') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
