"""Every ```python block of README.md and docs/ is type-checked (pyright, strict) and run.

How a block is read, for whoever writes one:

- It may use the names declared in tests/docs_context.py (`client`, `async_client`, `secret`,
  `raw_body`, `request`, `token`, ...) without defining them, as code the page showed before;
  anything else it imports. A block with top-level `await` or `async for` is checked and run as
  the body of an `async def`.
- It runs in this process against a fresh Craft emulator served on 127.0.0.1 (CRAFT_BASE_URL and
  CRAFT_API_KEY name it), holding project `proj_abc123` and its files; sleeps return at once, and
  the working directory is a temporary one holding `logo.png`. A block that defines `test_*`
  functions is run by pytest instead, with craft-sdk's plugin, as a test file of its own (so
  without the names of tests/docs_context.py).
- A block that cannot run here (it needs the real API, or a file on the reader's machine) has
  `<!-- docs-check: no-run: <why> -->` on the line right above its fence. It is still
  type-checked.

`--8<--` includes of examples/ are not blocks here: tests/test_examples.py runs those files, and
scripts/typecheck checks them.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk._clock import SystemClock

from . import docs_context

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CONTEXT_IMPORT = "from tests.docs_context import *"
FENCE = re.compile(r"(?P<indent>[ \t]*)```(?P<language>\S*)\s*")
NO_RUN = re.compile(r"<!-- docs-check: no-run: (?P<reason>\S.*?) -->")
HOW_TO_FIX = (
    "Fix the block so that it type-checks and runs as a reader would run it. A name it uses "
    "from earlier on the page: declare it in tests/docs_context.py and bind it there. A block "
    "that cannot run against the emulator: put `<!-- docs-check: no-run: <why> -->` on the line "
    "above its fence (it is still type-checked). See the docstring of tests/test_docs.py."
)


@dataclasses.dataclass(frozen=True)
class Block:
    """One ```python block of a doc."""

    doc: str  # its path from the repository's root, as messages name it
    line: int  # the line of its opening fence, from 1: its code starts on the next one
    code: str
    no_run: str | None  # why it cannot run against the emulator, from its directive

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"

    def compiled(self) -> CodeType:
        """The code, compiled with the doc's path and line numbers (for tracebacks), and with
        `await` allowed at its top level."""
        source = "\n" * self.line + self.code
        code: CodeType = compile(
            source, ROOT / self.doc, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
        return code

    def is_async(self) -> bool:
        try:
            return bool(self.compiled().co_flags & inspect.CO_COROUTINE)
        except SyntaxError:
            return False  # pyright says where

    def names(self) -> set[str]:
        """Every name the code mentions."""
        tree = ast.parse(self.code)
        return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}

    def defines_tests(self) -> bool:
        return re.search(r"^(async )?def test_", self.code, re.MULTILINE) is not None

    def checked_source(self) -> str:
        """What pyright checks: the context's names, then the code on its lines of the doc (in
        an `async def` if it awaits at its top level)."""
        header = [CONTEXT_IMPORT]
        code = self.code
        if self.is_async():
            header.append("async def awaiting_block() -> None:")
            code = textwrap.indent(code, "    ")
        assert len(header) <= self.line, f"{self}: too near the top of its doc to keep its lines"
        return "\n".join(header) + "\n" * (self.line + 1 - len(header)) + code


def read_doc(path: Path) -> tuple[list[Block], list[str]]:
    """The python blocks of one doc, and what is wrong with its docs-check directives."""
    doc = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.fullmatch(lines[index])
        if opening is None:
            index += 1
            continue
        closing = opening["indent"] + "```"
        end = next((n for n in range(index + 1, len(lines)) if lines[n].rstrip() == closing), None)
        end = len(lines) if end is None else end
        code = textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n"
        if opening["language"] == "python" and not code.startswith("--8<--"):
            directive = NO_RUN.fullmatch(lines[index - 1].strip()) if index else None
            blocks.append(Block(doc, index + 1, code, directive and directive["reason"]))
        index = end + 1
    starts = {block.line for block in blocks}
    problems = [
        f"{doc}:{number}: {problem}"
        for number, line in enumerate(lines, start=1)
        if line.lstrip().startswith("<!--") and "docs-check" in line
        for problem in [directive_problem(line, above_a_block=number + 1 in starts)]
        if problem
    ]
    return blocks, problems


def directive_problem(line: str, *, above_a_block: bool) -> str | None:
    if NO_RUN.fullmatch(line.strip()) is None:
        return "write a directive as `<!-- docs-check: no-run: <why it cannot run> -->`"
    if not above_a_block:
        return "a docs-check directive goes on the line right above a ```python fence"
    return None


def read_docs() -> tuple[list[Block], list[str]]:
    blocks: list[Block] = []
    problems: list[str] = []
    for path in DOCS:
        found, wrong = read_doc(path)
        blocks += found
        problems += wrong
    return blocks, problems


BLOCKS, DIRECTIVE_PROBLEMS = read_docs()
RUN_HERE = [b for b in BLOCKS if b.no_run is None and not b.defines_tests()]
RUN_BY_PYTEST = [b for b in BLOCKS if b.no_run is None and b.defines_tests()]


# ---- the checks -------------------------------------------------------------------------------


def test_directives_are_well_formed() -> None:
    assert not DIRECTIVE_PROBLEMS, "\n".join(DIRECTIVE_PROBLEMS)


def test_reading_a_doc(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(
        textwrap.dedent(
            """\
            # A page
            ```python
            print("runs")
            ```
            <!-- docs-check: no-run: needs the reader's proxy -->
            ```python
            import httpx
            ```
            ```bash
            echo not python
            ```
            ??? example "included"

                ```python
                --8<-- "examples/quickstart.py"
                ```

                ```python
                print("indented")
                ```
            <!-- docs-check: no-run: -->
            ```python
            pass
            ```
            <!-- docs-check: no-run: above nothing -->

            <!-- docs-check: no-run: above a bash block -->
            ```bash
            true
            ```
            """
        ),
        encoding="utf-8",
    )
    blocks, problems = read_doc(doc)
    assert [(b.line, b.code, b.no_run) for b in blocks] == [
        (2, 'print("runs")\n', None),
        (6, "import httpx\n", "needs the reader's proxy"),
        (18, 'print("indented")\n', None),
        (22, "pass\n", None),
    ]
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "page.md:21",  # no reason given
        "page.md:25",  # not above a fence
        "page.md:27",  # above a bash block
    ]


@pytest.fixture(scope="session")
def pyright_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """pyright's findings on every block, by block (`doc:line`), from one run over them all."""
    folder = tmp_path_factory.mktemp("doc_blocks")
    files: dict[str, Block] = {}
    for block in BLOCKS:
        name = re.sub(r"\W", "_", str(block)) + ".py"
        (folder / name).write_text(block.checked_source(), encoding="utf-8")
        files[name] = block
    config = {
        "include": ["."],
        "typeCheckingMode": "strict",
        "pythonVersion": "3.10",
        "extraPaths": [str(ROOT)],  # for tests.docs_context
        # An example may show a value without using it; at a block's top level pyright would
        # not mind, but an awaiting block is checked as the body of a function.
        "reportUnusedVariable": "none",
    }
    (folder / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), f"pyright did not run:\n{result.stdout}{result.stderr}"
    findings: dict[str, list[str]] = {str(block): [] for block in BLOCKS}
    for diagnostic in json.loads(result.stdout)["generalDiagnostics"]:
        if diagnostic["severity"] not in ("error", "warning"):
            continue
        block = files[Path(diagnostic["file"]).name]
        line = diagnostic["range"]["start"]["line"] + 1  # the doc's line: the file keeps them
        rule = f" ({diagnostic['rule']})" if "rule" in diagnostic else ""
        message = diagnostic["message"].replace("\n", "\n    ")
        findings[str(block)].append(f"{block.doc}:{line}: {message}{rule}")
    return findings


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_block_type_checks(block: Block, pyright_findings: dict[str, list[str]]) -> None:
    findings = pyright_findings[str(block)]
    assert not findings, (
        f"pyright (strict) finds fault with the block at {block}:\n"
        + "\n".join(findings)
        + f"\n{HOW_TO_FIX}"
    )


@pytest.fixture
def docs_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, Callable[[], object]]]:
    """The world a block runs in (see the module's docstring), and what makes the values of the
    names of tests/docs_context.py in it."""
    emulator = docs_context.seeded_emulator()
    sdk_logger = logging.getLogger("craft_sdk")
    level = sdk_logger.level
    with emulator.serve() as server:
        monkeypatch.setenv("CRAFT_BASE_URL", server.url)
        monkeypatch.setenv("CRAFT_API_KEY", emulator.api_key)
        monkeypatch.setattr(SystemClock, "sleep", no_sleep)
        monkeypatch.setattr(SystemClock, "asleep", no_asleep)
        monkeypatch.setattr(logging.root, "handlers", list(logging.root.handlers))
        monkeypatch.chdir(tmp_path)
        for name, content in docs_context.LOCAL_FILES.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(content)
        yield docs_context.bind(emulator)
    sdk_logger.setLevel(level)  # a block may configure logging as the docs advise


def no_sleep(clock: SystemClock, seconds: float) -> None:
    """The system clock's sleep while a block runs: none."""


async def no_asleep(clock: SystemClock, seconds: float) -> None:
    await asyncio.sleep(0)  # still yields to the event loop, as a real sleep would


def test_every_name_of_the_context_is_bound(
    docs_names: dict[str, Callable[[], object]],
) -> None:
    assert sorted(docs_names) == sorted(docs_context.__all__)
    assert isinstance(docs_names["client"](), CraftClient)


@pytest.mark.parametrize("block", RUN_HERE, ids=str)
def test_block_runs(block: Block, docs_names: dict[str, Callable[[], object]]) -> None:
    used = block.names()
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    namespace.update((name, make()) for name, make in docs_names.items() if name in used)
    code = block.compiled()
    try:
        if code.co_flags & inspect.CO_COROUTINE:
            asyncio.run(closing_clients(namespace, eval(code, namespace)))
        else:
            try:
                exec(code, namespace)
            finally:
                asyncio.run(closing_clients(namespace))
    except Exception as error:
        raise AssertionError(f"The block at {block} raised {error!r}.\n{HOW_TO_FIX}") from error


async def closing_clients(
    namespace: dict[str, Any], block: Coroutine[Any, Any, None] | None = None
) -> None:
    """Run an awaiting block, then close every client it left open, so no socket is left to
    the garbage collector (whose ResourceWarning would fail some later test)."""
    try:
        if block is not None:
            await block
    finally:
        for value in list(namespace.values()):
            if isinstance(value, CraftClient):
                value.close()
            elif isinstance(value, AsyncCraftClient):
                await value.aclose()


@pytest.mark.parametrize("block", RUN_BY_PYTEST, ids=str)
def test_block_passes_under_pytest(block: Block, tmp_path: Path) -> None:
    test_file = tmp_path / "test_block.py"
    test_file.write_text("\n" * block.line + block.code, encoding="utf-8")  # the doc's lines
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-W",
            "error",
            "-p",
            "craft_sdk",
            "-p",
            "anyio",
            "-p",
            "no:cacheprovider",
            test_file.name,
        ],
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"The tests of the block at {block} fail under pytest (the lines of test_block.py are "
        f"the doc's):\n{result.stdout}{result.stderr}\n{HOW_TO_FIX}"
    )
