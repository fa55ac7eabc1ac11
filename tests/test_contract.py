"""The contract: schemathesis checks the emulator's loopback server against openapi.yaml.

Every operation is fuzzed with a bounded number of generated cases: schema-valid ones (positive)
and, where the operation takes some input besides ids, schema-violating ones (negative). Every
answer goes through all of schemathesis's checks (`case.call_and_validate()`): a documented
status, content type, headers and body; valid input accepted, invalid input refused; and, once
an operation answers a 2xx, the same request without a key and with a wrong one refused.

Generated ids name no project, so the operations under `/projects/{projectId}` run twice: as
generated (their 404s are documented answers too), and against real state, a fresh project (with
the file or deployment the case names) made for every case, so that their 2xx answers are checked
as well. A few explicit cases reach answers fuzzing cannot (409s, an unknown template, a used
authorization code, a missing key).

Hypothesis is derandomized and keeps no database: every run sends the same requests.
"""

# schemathesis annotates some of its own signatures with bare generics (`PathLike`, `dict`,
# `Case`, `AuthStorage`), so pyright sees those methods as partially unknown however they are
# called. Only that rule is relaxed, and only in this file; the values they return are typed
# below (`Operation`, `AnyCase`).
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

from craft_sdk.testing import CraftEmulator, EmulatorServer, FakeClock

from .conftest import skip_module_before_python_311

skip_module_before_python_311("schemathesis")

import schemathesis  # noqa: E402
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode  # noqa: E402
from schemathesis.core.result import Err, Ok  # noqa: E402

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
MAX_EXAMPLES = 20  # per operation, per mode
# The ids refuse only "", "." and "..", which no URL carries as a path segment: there is no
# invalid id to send.
IDS = ("projectId", "deploymentId")
PLACEHOLDER = "id_placeholder"  # drawn with, then replaced by a real id (`_fuzz`)
# Template slugs the reference documents. A template names something on the server, like an
# id does: positive cases get a known one; an unknown one has its explicit case.
TEMPLATES = ("landing-page", "dashboard")

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Operation]

HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    # Most invalid file paths cannot be sent as a URL path, so schemathesis filters them out.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _load(**config: object) -> BaseSchema:
    # The key comes from the config rather than being generated with the parameters: otherwise
    # most negative cases would only break the Authorization header and stop at the 401.
    options = {"generation": {"with-security-parameters": False}, **config}
    return schemathesis.openapi.from_path(SPEC, config=schemathesis.Config.from_dict(options))


def _runs(*, real_state: bool) -> list[Any]:
    """(path, method, mode) of the runs of one test, one per operation and generation mode.

    Real state is for the operations under a project. Negative cases need some input to break:
    a body, or a parameter that is not an id. Those of an operation under a project run on real
    state only: with a made-up project id, a refused input and an accepted one would both end
    as a 404, which passes for a refusal.
    """
    runs: list[Any] = []  # of pytest.param
    results = cast("Iterator[Ok[Operation] | Err[Exception]]", _load().get_all_operations())
    for result in results:
        assert isinstance(result, Ok), result  # openapi.yaml defines every operation validly
        operation = result.ok()
        scoped = "{projectId}" in operation.path
        if real_state and not scoped:
            continue
        modes = [GenerationMode.POSITIVE]
        breakable = operation.body or any(p.name not in IDS for p in operation.iter_parameters())
        if breakable and (real_state or not scoped):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            name = f"{operation.definition.raw['operationId']}-{mode!s}"
            runs.append(pytest.param(operation.path, operation.method, mode, id=name))
    return runs


@pytest.fixture(scope="module")
def emulator() -> CraftEmulator:
    # The default limit, which users get and no generated traffic reaches (10,000 a minute;
    # the run sends about 1,900); a clock that moves only when asked to.
    return CraftEmulator(clock=FakeClock(start=float(int(time.time()))))


@pytest.fixture(scope="module")
def server(emulator: CraftEmulator) -> Iterator[EmulatorServer]:
    with emulator.serve() as server:  # 127.0.0.1, on a free port
        yield server


@pytest.fixture(scope="module")
def schema(emulator: CraftEmulator, server: EmulatorServer) -> BaseSchema:
    auth = {"openapi": {"bearerAuth": {"bearer": emulator.api_key}}}
    return _load(**{"base-url": server.url, "auth": auth})


@pytest.fixture(scope="module")
def api(emulator: CraftEmulator) -> Iterator[httpx.Client]:
    """Sets up state in the same emulator, in process, apart from the requests under test."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    transport = emulator.transport()
    with httpx.Client(transport=transport, base_url=emulator.base_url, headers=headers) as client:
        yield client


def _operation(schema: BaseSchema, path: str, method: str) -> Operation:
    methods = cast("Mapping[str, Operation]", schema[path])
    return methods[method.lower()]


def _fuzz(
    operation: Operation,
    mode: GenerationMode,
    *,
    ids: Callable[[], dict[str, str]] | None = None,
    before_call: Callable[[AnyCase], None] | None = None,
) -> int:
    """Send up to MAX_EXAMPLES generated cases of `operation`, each checked; answer how many.

    `ids` makes fresh state for each case and answers the path parameters to use; the others
    are generated. It runs once a case is drawn: most drawn file paths are filtered out, and
    each would otherwise leave a project behind. `before_call` gets each case before it is sent.
    """
    sent = 0
    fixed = {name: PLACEHOLDER for name in IDS if f"{{{name}}}" in operation.path} if ids else {}
    strategy = cast(
        SearchStrategy[AnyCase],
        operation.as_strategy(generation_mode=mode, path_parameters=fixed or None),
    )

    @HYPOTHESIS
    @given(case=strategy)
    def run(case: AnyCase) -> None:
        nonlocal sent
        if ids is not None:
            made = ids()
            assert made.keys() == fixed.keys()
            case.path_parameters.update(made)
        if before_call is not None:
            before_call(case)
        case.call_and_validate()
        sent += 1

    run()
    return sent


def _known_template(case: AnyCase) -> None:
    # Positive cases only: one valid template for another, so the case stays positive.
    body = case.body
    if isinstance(body, dict):
        template = body.get("template")
        if isinstance(template, str):
            body["template"] = TEMPLATES[len(template) % len(TEMPLATES)]


@pytest.mark.parametrize(("path", "method", "mode"), _runs(real_state=False))
def test_operation_as_generated(
    schema: BaseSchema, path: str, method: str, mode: GenerationMode
) -> None:
    operation = _operation(schema, path, method)
    # `==` rather than `is`: the checkers read this as Python 3.10, where schemathesis's
    # `StrEnum` (3.11+) is missing and GenerationMode looks like a plain str.
    known_template = (
        _known_template
        if mode == GenerationMode.POSITIVE
        and operation.definition.raw["operationId"] == "createProject"
        else None
    )
    assert _fuzz(operation, mode, before_call=known_template) > 0


def _file_url(project_id: str, path: str) -> str:
    segments = "/".join(quote(segment, safe="") for segment in path.split("/"))
    return f"/projects/{project_id}/files/{segments}"


@pytest.mark.parametrize(("path", "method", "mode"), _runs(real_state=True))
def test_operation_on_real_state(
    schema: BaseSchema, api: httpx.Client, path: str, method: str, mode: GenerationMode
) -> None:
    operation = _operation(schema, path, method)
    operation_id = operation.definition.raw["operationId"]
    made = 0

    def ids() -> dict[str, str]:
        nonlocal made
        made += 1
        created = api.post("/projects", json={"name": f"Contract {made}"})
        assert created.status_code == 201, created.text
        project_id: str = created.json()["data"]["id"]
        if operation_id == "listFiles":  # entries of both types
            for file_path in ("src/app/page.tsx", "README.md"):
                api.put(_file_url(project_id, file_path), content=b"x").raise_for_status()
        deployment = api.post(f"/projects/{project_id}/deployments", json={})  # one to list
        assert deployment.status_code == 201, deployment.text
        if "{deploymentId}" not in path:
            return {"projectId": project_id}
        return {"projectId": project_id, "deploymentId": deployment.json()["data"]["id"]}

    def make_the_file(case: AnyCase) -> None:
        # The file a case names exists for a read or a delete, and for every other write (so
        # that writes both create, 201, and replace, 200). The emulator refuses an invalid
        # path here just as it will in the case.
        # Written at the case's own URL: its path parameters come percent-encoded already, and
        # encoding them again would make a file of another name.
        if "path" not in case.path_parameters or (operation_id == "writeFile" and made % 2):
            return
        written = api.put(case.formatted_path, content=b"contract\n")
        if mode == GenerationMode.POSITIVE:
            assert written.status_code in (200, 201), written.text

    files = operation_id in ("readFile", "writeFile", "deleteFile")
    assert _fuzz(operation, mode, ids=ids, before_call=make_the_file if files else None) > 0


def test_explicit_cases(
    schema: BaseSchema, emulator: CraftEmulator, server: EmulatorServer, api: httpx.Client
) -> None:
    auth = {"Authorization": f"Bearer {emulator.api_key}"}

    def send(path: str, method: str, **parts: Any) -> schemathesis.Response:
        case = cast(AnyCase, _operation(schema, path, method).Case(**parts))
        return case.call_and_validate(headers=auth)

    unknown = send("/projects", "post", body={"name": "T", "template": "no-such-template"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "TEMPLATE_NOT_FOUND")

    # A file where a directory is, or under a file: 409.
    project_id = api.post("/projects", json={"name": "Explicit"}).json()["data"]["id"]
    api.put(_file_url(project_id, "src/a.ts"), content=b"a").raise_for_status()
    for file_path in ("src", "src/a.ts/b.ts"):
        file = {"projectId": project_id, "path": file_path}
        written = send(
            "/projects/{projectId}/files/{path}",
            "put",
            path_parameters=file,
            body="x",
            media_type="text/plain",
        )
        assert written.status_code == 409

    # Cancelling a deployment that is already final: 409.
    deployment_id = api.post(f"/projects/{project_id}/deployments").json()["data"]["id"]
    ids = {"projectId": project_id, "deploymentId": deployment_id}
    cancel = "/projects/{projectId}/deployments/{deploymentId}/cancel"
    assert send(cancel, "post", path_parameters=ids).status_code == 200
    assert send(cancel, "post", path_parameters=ids).status_code == 409

    # An authorization code works once (then 400 invalid_grant); a refresh token works.
    client = {"client_id": "client", "client_secret": "secret"}
    grant = {"grant_type": "authorization_code", "code": "explicit", "redirect_uri": "https://e.x"}
    tokens = send("/oauth/token", "post", body={**grant, **client})
    assert tokens.status_code == 200
    assert send("/oauth/token", "post", body={**grant, **client}).status_code == 400
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    assert send("/oauth/token", "post", body={**refresh, **client}).status_code == 200

    # No key, and a wrong one: 401 UNAUTHORIZED.
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = httpx.get(f"{server.url}/me", headers=headers)
        _operation(schema, "/me", "get").Case().validate_response(refused)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "UNAUTHORIZED")
