"""Every file in examples/ runs, offline, against the Craft emulator.

Scripts run as a user would run them (a fresh interpreter, no CRAFT_API_KEY). The webhook
receivers are driven through their own framework's test machinery with deliveries the emulator
really sent and signed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from craft_sdk.testing import CraftEmulator

from .conftest import needs_python_311

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RECEIVERS = {"webhooks_fastapi.py", "webhooks_flask.py", "webhooks_django.py"}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in RECEIVERS)
SECRET = "whsec_examples"


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRAFT_")}
    env["PYTHONPATH"] = str(EXAMPLES.parent)
    return env


def run_python(*arguments: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """`python *arguments` in a fresh interpreter, offline (no CRAFT_ settings), output kept."""
    options.setdefault("env", offline_env())
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=120, **options
    )


def test_every_example_is_covered() -> None:
    assert set(SCRIPTS) | RECEIVERS == {p.name for p in EXAMPLES.glob("*.py")}
    assert "quickstart.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_against_the_emulator(script: str) -> None:
    result = run_python(str(EXAMPLES / script), check=False)
    assert result.returncode == 0, result.stderr
    assert "running against the Craft emulator" in result.stdout
    assert result.stderr == ""


def test_quickstart_walks_the_whole_workflow() -> None:
    result = run_python(str(EXAMPLES / "quickstart.py"), check=True)
    for step in (
        "Created project proj_",
        "Renamed it '",
        "Wrote 3 files",
        "Listed projects:",
        "deployment is building",
        "Deployed to https://",
        "Verified webhook build.completed",
        "Deleted project proj_",
    ):
        assert step in result.stdout, step


def test_testing_example_passes_under_pytest() -> None:
    # The same module `python` runs above, as pytest runs it: with the fixtures of the plugin that
    # installing craft-sdk registers (loaded by its entry point's name; the other plugins installed
    # here, hypothesis above all, would only slow pytest's start).
    result = run_python(
        *("-m", "pytest", "-q", "-p", "craft_sdk", "testing_with_emulator.py"),
        env={**offline_env(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        cwd=EXAMPLES,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_testing_example_runs_without_pytest() -> None:
    # Its docstring says `python testing_with_emulator.py` runs the same tests without pytest:
    # run it so, in an interpreter where pytest cannot be imported.
    script = (
        "import runpy, sys; sys.modules['pytest'] = None; "
        f"runpy.run_path({str(EXAMPLES / 'testing_with_emulator.py')!r}, run_name='__main__')"
    )
    result = run_python("-c", script, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("passed: test_") == 3


def signed_delivery() -> tuple[bytes, dict[str, str]]:
    """A delivery the emulator sent for a real change, signed with SECRET."""
    emulator = CraftEmulator()
    deliveries: list[tuple[bytes, dict[str, str]]] = []
    emulator.on_webhook(lambda body, headers: deliveries.append((body, headers)), secret=SECRET)
    with emulator.client() as client:
        project = client.projects.create(name="Hooks")
        client.projects.update(project.id, name="Hooked")
    return deliveries[-1]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_python_311("FastAPI")
@pytest.mark.anyio
async def test_fastapi_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", SECRET)
    app = load("webhooks_fastapi.py").app
    body, headers = signed_delivery()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as http:
        accepted = await http.post("/webhooks/craft/", content=body, headers=headers)
        again = await http.post("/webhooks/craft/", content=body, headers=headers)
        forged = await http.post("/webhooks/craft/", content=body + b"\n", headers=headers)
    assert accepted.status_code == 200
    assert again.json() == {"ok": True, "duplicate": True}  # a redelivery runs nothing
    assert forged.status_code == 400


def test_flask_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", SECRET)
    app = load("webhooks_flask.py").app
    body, headers = signed_delivery()
    client = app.test_client()
    assert client.post("/webhooks/craft", data=body, headers=headers).status_code == 200
    assert client.post("/webhooks/craft", data=body, headers=headers).json == {
        "ok": True,
        "duplicate": True,
    }
    unsigned = {k: v for k, v in headers.items() if k.lower() != "x-craft-signature"}
    assert client.post("/webhooks/craft", data=body, headers=unsigned).status_code == 400
    assert client.get("/webhooks/craft").status_code == 405


def test_django_receiver() -> None:
    # Django's settings are process-wide, so the view runs in an interpreter of its own.
    body, headers = signed_delivery()
    script = textwrap.dedent(
        """
        import sys, json
        import django
        from django.conf import settings
        settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="test")
        django.setup()
        from django.test import Client
        from django.urls import path
        sys.path.insert(0, "examples")
        from webhooks_django import craft_webhook
        urlpatterns = [path("webhooks/craft", craft_webhook)]
        body = sys.stdin.buffer.read()
        signature = sys.argv[1]
        client = Client()
        ok = client.post("/webhooks/craft", data=body, content_type="application/json",
                         HTTP_X_CRAFT_SIGNATURE=signature)
        bad = client.post("/webhooks/craft", data=body + b" ", content_type="application/json",
                          HTTP_X_CRAFT_SIGNATURE=signature)
        print(ok.status_code, bad.status_code)
        """
    )
    signature = next(v for k, v in headers.items() if k.lower() == "x-craft-signature")
    result = subprocess.run(
        [sys.executable, "-c", script, signature],
        input=body,
        env={**offline_env(), "CRAFT_WEBHOOK_SECRET": SECRET},
        cwd=EXAMPLES.parent,
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split() == [b"200", b"400"]
