"""The package as users get it: build the sdist and the wheel, check them with twine, check what
the wheel holds, then install it in a fresh virtual environment and run the quickstart there.

`python -m build` builds the sdist, then the wheel from the sdist, so a file the sdist leaves out
is missing from the wheel too. It runs without build isolation when hatchling is installed
(offline, seconds); else it fetches hatchling from PyPI.

The fresh environment gets the wheel alone (`--no-deps`). Its dependencies come from this
environment's site-packages, which a `.pth` line puts on `sys.path` after the new environment's
own. A path line in a `.pth` file only adds the directory: the `.pth` files inside it are not
processed, so an editable install of craft-sdk here (a `.pth` naming the source tree, or an
import hook) cannot shadow the wheel; and the script runs from outside the repository.
"""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.message import Message
from importlib.util import find_spec
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "craft_sdk"
DISTRIBUTION = "craft-sdk"
DEPENDENCIES = {"exceptiongroup", "httpx", "pathspec", "pydantic", "tenacity", "typing-extensions"}
TIMEOUT = 120


def source_version() -> str:
    """The version as hatch reads it, from craft_sdk/_version.py (not from an import of it)."""
    text = (ROOT / PACKAGE / "_version.py").read_text(encoding="utf-8")
    found = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.MULTILINE)
    assert found, "craft_sdk/_version.py sets no __version__"
    return found.group(1)


def source_files() -> set[str]:
    """Every module of the package in the source tree (with py.typed and the Redis store's Lua
    script), as paths from the root."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and (path.suffix in (".py", ".pyi", ".lua") or path.name == "py.typed")
    }


def run(
    *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def clean_env() -> dict[str, str]:
    """The environment without anything that could point Python at the source tree, or the
    examples at the real API."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "CRAFT_", "VIRTUAL_ENV", "PIP_"))
    }
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from the source tree."""
    for tool in ("build", "twine"):
        if find_spec(tool) is None:
            pytest.fail(f"{tool} is not installed: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("dist")
    # Without isolation, the hatchling installed here builds it: no download.
    no_isolation = ["--no-isolation"] if find_spec("hatchling") else []
    run(sys.executable, "-m", "build", *no_isolation, "--outdir", out, ROOT)
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1, wheels
    assert len(sdists) == 1, sdists
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_twine_check_passes(dist: dict[str, Path]) -> None:
    result = run(sys.executable, "-m", "twine", "check", "--strict", dist["sdist"], dist["wheel"])
    assert result.stdout.count("PASSED") == 2, result.stdout


def wheel_metadata(wheel: zipfile.ZipFile) -> Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.parser.Parser().parsestr(wheel.read(name).decode("utf-8"))


def test_the_wheel_holds_every_module_and_no_tests(dist: dict[str, Path]) -> None:
    version = source_version()
    assert dist["wheel"].name == f"craft_sdk-{version}-py3-none-any.whl"
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel_metadata(wheel)
        entry_points = wheel.read(f"craft_sdk-{version}.dist-info/entry_points.txt").decode()

    packaged = {n for n in names if n.startswith(f"{PACKAGE}/")}
    missing = source_files() - packaged
    assert not missing, f"in the source tree but not in the wheel: {sorted(missing)}"
    stray = {n for n in packaged if n.endswith((".py", ".pyi"))} - source_files()
    assert not stray, f"in the wheel but not in the source tree: {sorted(stray)}"
    assert f"{PACKAGE}/py.typed" in names

    top_level = {PurePosixPath(n).parts[0] for n in names}
    assert top_level == {PACKAGE, f"craft_sdk-{version}.dist-info"}
    tests = [n for n in names if re.search(r"(^|/)(test_[^/]*|conftest)\.py$", n)]
    assert not tests, f"tests in the wheel: {tests}"

    assert metadata["Name"] == DISTRIBUTION
    assert metadata["Version"] == version
    assert metadata["Requires-Python"] == ">=3.10"
    assert "redis" in metadata.get_all("Provides-Extra", [])
    required = {
        re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
        for requirement in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in requirement  # the dev extra's pins
    }
    assert required == DEPENDENCIES
    assert re.search(
        r"^\[pytest11\]\s*craft_sdk\s*=\s*craft_sdk\.testing\.pytest_plugin", entry_points, re.M
    )


def test_the_sdist_builds_the_same_package(dist: dict[str, Path]) -> None:
    version = source_version()
    assert dist["sdist"].name == f"craft_sdk-{version}.tar.gz"
    with tarfile.open(dist["sdist"]) as sdist:
        names = {
            PurePosixPath(n).relative_to(f"craft_sdk-{version}").as_posix()
            for n in sdist.getnames()
        }
        pkg_info = sdist.extractfile(f"craft_sdk-{version}/PKG-INFO")
        assert pkg_info is not None
        metadata = email.parser.Parser().parsestr(pkg_info.read().decode("utf-8"))
    assert metadata["Version"] == version
    assert {"pyproject.toml", "README.md", f"{PACKAGE}/py.typed"} <= names
    missing = source_files() - names
    assert not missing, f"in the source tree but not in the sdist: {sorted(missing)}"


def test_the_wheel_runs_the_quickstart_in_a_fresh_venv(
    dist: dict[str, Path], tmp_path: Path
) -> None:
    venv, workdir = tmp_path / "venv", tmp_path / "elsewhere"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = clean_env()
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(run(python, "-c", where, env=env).stdout.strip()).resolve()

    # The wheel alone, by this environment's pip; its dependencies are already here, and a path
    # line puts them after the new site-packages (the .pth files here are not processed).
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", python]
    run(*pip, "install", "--no-deps", "--no-index", "--no-compile", dist["wheel"], env=env)
    ours = dict.fromkeys(sysconfig.get_paths()[scheme] for scheme in ("purelib", "platlib"))
    (site_packages / "_craft_sdk_test_dependencies.pth").write_text("\n".join(ours) + "\n")

    workdir.mkdir()
    shutil.copy(ROOT / "examples" / "quickstart.py", workdir)
    probe = (
        "import json, importlib.metadata as md, craft_sdk; "
        "print(json.dumps([craft_sdk.__file__, craft_sdk.__version__, md.version('craft-sdk')]))"
    )
    imported, version, metadata_version = json.loads(
        run(python, "-c", probe, cwd=workdir, env=env).stdout
    )
    assert Path(imported).resolve().is_relative_to(site_packages), (
        f"craft_sdk was imported from {imported}, not from the wheel in {site_packages}"
    )
    assert version == metadata_version == source_version()

    result = run(python, "quickstart.py", cwd=workdir, env=env)
    assert "running against the Craft emulator" in result.stdout
    assert "Deleted project proj_" in result.stdout
    assert result.stderr == ""
