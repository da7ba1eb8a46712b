"""The sdist and the wheel a user installs: the license, the type markers of every
package and the README as the package's description are inside.

Built offline from a copy of the sources (the build backend installed with the test
extra, no build isolation, so nothing is downloaded), the wheel from the sdist as
`python -m build` does, so a file missing from the sdist is missing from the wheel too.
"""

from __future__ import annotations

import email
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("autumn_core", "autumn_funcs", "autumn_local")
SOURCES = ("pyproject.toml", "README.md", "LICENSE", *PACKAGES)


def _backend_missing() -> str | None:
    if importlib.util.find_spec("build") is None:
        return "the `build` package is not installed (it comes with the test extra)"
    major = int(metadata.version("setuptools").split(".")[0])
    if major < 77:
        return f"setuptools {major} cannot read the license fields; >= 77 comes with the test extra"
    return None


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = _backend_missing()
    if missing:
        pytest.skip(missing)
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _sdist_names(dist: Path) -> set[str]:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        # Without the leading "autumn_balances-X.Y.Z/".
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def _wheel(dist: Path) -> zipfile.ZipFile:
    (wheel,) = dist.glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_the_sdist_has_the_license_and_every_type_marker(dist: Path) -> None:
    names = _sdist_names(dist)
    assert "LICENSE" in names
    assert "README.md" in names
    assert {f"{package}/py.typed" for package in PACKAGES} <= names


def test_the_wheel_has_the_license_and_every_type_marker(dist: Path) -> None:
    with _wheel(dist) as wheel:
        names = set(wheel.namelist())
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), sorted(names)
    assert {f"{package}/py.typed" for package in PACKAGES} <= names


def test_the_wheel_describes_itself_with_the_readme(dist: Path) -> None:
    with _wheel(dist) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_string(wheel.read(name).decode("utf-8"))
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta["License-Expression"] == "MIT"
    assert "Typing :: Typed" in meta.get_all("Classifier", [])
    body = meta.get_payload()
    assert isinstance(body, str)
    assert body.strip() == (ROOT / "README.md").read_text().strip()


def test_the_wheel_has_every_module_of_every_subpackage(dist: Path) -> None:
    with _wheel(dist) as wheel:
        names = set(wheel.namelist())
    sources = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
    }
    assert any("/" in name.split("/", 1)[1] for name in sources)  # there are subpackages
    assert sources - names == set()


PAGE_FILES = {
    f"autumn_local/page/files/{name}"
    for name in ("index.html", "page.js", "page.css", "favicon.svg")
}


def test_both_ship_the_local_server_page(dist: Path) -> None:
    # The page runs offline: every file it loads must be in the package.
    assert _sdist_names(dist) >= PAGE_FILES
    with _wheel(dist) as wheel:
        assert set(wheel.namelist()) >= PAGE_FILES
