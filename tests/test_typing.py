"""What type checkers make of code written against the SDK (issue #14, points 3 to 5; the
webhook router's typed handlers, issue #18).

One small user program, checked by pyright (strict) and by mypy (--strict), each run once in a
subprocess: the idioms the docs show must check cleanly, and the mistakes the types exist to
catch must be flagged, on the line marked `# error: <pyright rule> <mypy code>` and nowhere else.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """\
# pyright: strict
from craft_sdk import (
    AsyncCraftClient,
    BuildFailedEvent,
    CraftClient,
    Deployment,
    FileEntry,
    Project,
    ProjectCreatedEvent,
    WebhookEvent,
    construct_event,
)
from craft_sdk.webhooks import WebhookRouter

router = WebhookRouter(secret="whsec_test")


@router.on("build.failed")
async def on_failed(event: BuildFailedEvent) -> None:
    print(event.data.error)


@router.on("build.failed")
def on_any_failed(event: WebhookEvent) -> None:
    print(event.event)


@router.on_any
def audit(event: WebhookEvent) -> None:
    print(event.event)


@router.on("build.failed")  # error: reportArgumentType type-var
def wrong_class(event: ProjectCreatedEvent) -> None:
    print(event.data.project_id)


@router.on("build.faild")  # error: reportCallIssue call-overload
def typo(event: BuildFailedEvent) -> None:
    print(event.data.error)


def names_oldest_first(client: CraftClient) -> list[str]:
    projects = list(client.projects.list())
    projects.sort(key=lambda p: p.created_at)
    return [p.name.upper() for p in projects]


def is_archived(project: Project) -> bool:
    return project.status == "archived"


def build_error(body: bytes, signature: str) -> str | None:
    event = construct_event(body, signature, "whsec_test")
    if isinstance(event, BuildFailedEvent):
        return event.data.error
    return None


def build_error_matched(event: WebhookEvent) -> str | None:
    match event:
        case BuildFailedEvent():
            return event.data.error
        case _:
            return None


def renamed(client: CraftClient, project: Project) -> Project:
    answer = client.projects.update(project.id, name="Launch page")
    if "description" in answer.fields_returned:
        print(answer.description)
    return answer.applied_to(project)


async def archived(client: AsyncCraftClient, project: Project) -> Project:
    return (await client.projects.archive(project.id)).applied_to(project)


def status_typo(project: Project) -> bool:
    return project.status == "archved"  # error: reportUnnecessaryComparison comparison-overlap


def environment_typo(deployment: Deployment) -> bool:
    return deployment.environment == "prod"  # error: reportUnnecessaryComparison comparison-overlap


def type_typo(entry: FileEntry) -> bool:
    return entry.type == "dir"  # error: reportUnnecessaryComparison comparison-overlap


def partial_taken_for_whole(client: CraftClient) -> Project:
    return client.projects.update("proj_1", name="x")  # error: reportReturnType return-value


def partial_name(client: CraftClient) -> str:
    answer = client.projects.update("proj_1", name="x")
    return answer.name.upper()  # error: reportOptionalMemberAccess union-attr


def narrowed_on_the_name(event: WebhookEvent) -> str | None:
    # Does not narrow: UnknownWebhookEvent.event is any str (docs/webhooks.md says so).
    if event.event == "build.failed":
        return event.data.error  # error: reportAttributeAccessIssue union-attr
    return None
"""

MARK = re.compile(r"# error: (\w+) ([\w-]+)$")
EXPECTED = {
    number: match.groups()
    for number, line in enumerate(PROGRAM.splitlines(), start=1)
    if (match := MARK.search(line))
}
"""Line number: (pyright rule, mypy code) for each line that must be flagged."""


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: pip install -e '.[dev]' provides it")


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("typing") / "user_program.py"
    path.write_text(PROGRAM, encoding="utf-8")
    return path


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_program_marks_what_it_expects() -> None:
    assert len(EXPECTED) == 8


def test_pyright_strict_accepts_the_idioms_and_flags_the_mistakes(program: Path) -> None:
    _require("pyright")
    # --pythonpath: import craft_sdk from the environment running the tests.
    done = _run(
        "pyright", "--outputjson", "--pythonpath", sys.executable, program.name, cwd=program.parent
    )
    report = json.loads(done.stdout)
    flagged: dict[int, set[str]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            line = diagnostic["range"]["start"]["line"] + 1
            flagged.setdefault(line, set()).add(diagnostic.get("rule", diagnostic["message"]))
    assert flagged.keys() == EXPECTED.keys(), flagged
    for line, (rule, _) in EXPECTED.items():
        assert rule in flagged[line], (line, flagged[line])


def test_mypy_strict_accepts_the_idioms_and_flags_the_mistakes(program: Path) -> None:
    _require("mypy")
    done = _run(
        "mypy",
        "--strict",
        "--config-file=",  # the user's settings, not this project's (no pydantic plugin)
        "--cache-dir",
        str(program.parent / ".mypy_cache"),
        "--no-error-summary",
        program.name,
        cwd=program.parent,
    )
    flagged: dict[int, set[str]] = {}
    for match in re.finditer(r"^user_program\.py:(\d+): error: .*\[([\w-]+)\]$", done.stdout, re.M):
        flagged.setdefault(int(match[1]), set()).add(match[2])
    assert flagged.keys() == EXPECTED.keys(), done.stdout
    for line, (_, code) in EXPECTED.items():
        assert code in flagged[line], (line, flagged[line])
