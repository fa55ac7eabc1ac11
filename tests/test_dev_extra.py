"""The dev extra installs on the oldest Python craft-sdk supports (issue #14).

The README's test command runs `pip install -e ".[dev]"`, which fails on Python 3.10 as soon as
one pin that applies there names a release whose `Requires-Python` leaves 3.10 out. Such a pin
needs a marker (`; python_version >= '3.11'`), and the tests that use it skip on 3.10.

The pins are read as hatchling, the build backend, reads pyproject.toml, and each one is checked
against the real metadata of the release installed here, not against a list kept by hand. Two
things only the package index knows are left to `.ci/run`, which installs the extra on 3.10: the
pins that apply on 3.10 alone (not installed here), and the releases the resolver picks there for
the pins' own dependencies (on 3.11 many of them need 3.11, and older releases serve 3.10).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, metadata, version
from pathlib import Path

from hatchling.metadata.core import ProjectMetadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def oldest_python(requires_python: str) -> Version:
    """The lowest Python that `requires-python` (">=3.10") admits."""
    (floor,) = [spec.version for spec in SpecifierSet(requires_python) if spec.operator == ">="]
    return Version(floor)


def applies(pin: Requirement, python: Version | None = None) -> bool:
    """Whether pip installs `pin` with the dev extra on `python` (this interpreter if None)."""
    if pin.marker is None:
        return True
    if python is None:
        return pin.marker.evaluate()
    # Over this interpreter's environment: the platform markers keep their values.
    return pin.marker.evaluate(
        {
            "python_version": f"{python.major}.{python.minor}",
            "python_full_version": f"{python.major}.{python.minor}.{python.micro}",
        }
    )


def test_every_pin_for_the_oldest_python_supports_it() -> None:
    project = ProjectMetadata(str(ROOT), None).core
    oldest = oldest_python(project.requires_python)
    pins = [Requirement(line) for line in project.optional_dependencies["dev"]]
    # Installed here too, so their metadata can be read (pins for the oldest alone are not).
    checked = [pin for pin in pins if applies(pin, oldest) and applies(pin)]
    assert checked, "no dev pin applies both here and on the oldest Python"
    unsupported: list[str] = []
    for pin in checked:
        try:
            installed = version(pin.name)
        except PackageNotFoundError:
            raise AssertionError(f"{pin.name} is not installed: pip install -e '.[dev]'") from None
        assert pin.specifier.contains(installed, prereleases=True), (
            f"{pin.name} {installed} is installed, but pyproject.toml pins {pin}: "
            "pip install -e '.[dev]'"
        )
        requires_python = metadata(pin.name)["Requires-Python"] or ""
        if not SpecifierSet(requires_python).contains(oldest, prereleases=True):
            unsupported.append(f"{pin} (Requires-Python {requires_python})")
    assert not unsupported, (
        f"pip install -e '.[dev]' fails on Python {oldest}, which craft-sdk supports: these pins "
        f"need a marker that leaves them out there, e.g. \"; python_version >= '3.11'\": "
        f"{', '.join(unsupported)}"
    )
