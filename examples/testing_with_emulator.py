"""Testing your own code with the Craft emulator: fast pytest tests, no network, no mocks.

    pytest examples/testing_with_emulator.py    # with the fixtures of craft-sdk's pytest plugin
    python examples/testing_with_emulator.py    # the same tests, without pytest

Installing craft-sdk registers the pytest fixtures `craft_emulator`, `craft_client` and
`async_craft_client` (for `@pytest.mark.anyio` tests); each test gets a fresh emulator on a fake
clock, so retries and polling take no real time. `fail_next(...)` and `fail_next_deployment(...)`
inject the failures your code has to survive. Tests never need CRAFT_API_KEY.
"""

from __future__ import annotations

import sys

from craft_sdk import CraftClient, DeploymentFailedError
from craft_sdk.testing import CraftEmulator

# ---- the code under test: yours ------------------------------------------------------------


def publish(client: CraftClient, name: str, files: dict[str, str]) -> str:
    """Create a project holding `files`, deploy it to production, and return its URL."""
    project = client.projects.create(name=name)
    client.files.write_many(project.id, files)
    deployment = client.deployments.create(project.id, environment="production")
    deployment = client.deployments.wait(project.id, deployment.id, poll_interval=5.0)
    return deployment.url or ""


# ---- its tests ---------------------------------------------------------------------------------

SITE = {"src/app/page.tsx": "export default () => 'Hi'\n", "public/robots.txt": "Allow: /\n"}


def test_publish_returns_the_url(craft_client: CraftClient, craft_emulator: CraftEmulator) -> None:
    assert publish(craft_client, "Site", SITE).startswith("https://")
    (project_id,) = craft_emulator.projects  # the emulator's state is there to inspect
    assert craft_emulator.files[project_id] == {path: text.encode() for path, text in SITE.items()}


def test_publish_survives_a_flaky_api(
    craft_client: CraftClient, craft_emulator: CraftEmulator
) -> None:
    craft_emulator.fail_next(2, status=503, method="GET")  # two polls fail, and are retried
    craft_emulator.fail_next(status=429, method="PUT")  # a file write is throttled once
    assert publish(craft_client, "Site", SITE).startswith("https://")
    statuses = [status for _method, _path, status in craft_emulator.requests]
    assert statuses.count(503) == 2
    assert statuses.count(429) == 1


def test_publish_reports_a_failed_build(
    craft_client: CraftClient, craft_emulator: CraftEmulator
) -> None:
    craft_emulator.fail_next_deployment("Type error in page.tsx")
    try:
        publish(craft_client, "Broken", SITE)
    except DeploymentFailedError as error:
        reason = error.deployment.error
    else:
        reason = None
    # Plain Python, not pytest.raises: without pytest, main() below runs these same tests.
    assert reason == "Type error in page.tsx"


def main() -> int:
    """Run the tests without pytest, giving each what the fixtures would."""
    print("No CRAFT_API_KEY needed: running against the Craft emulator (offline).")
    tests = [
        test_publish_returns_the_url,
        test_publish_survives_a_flaky_api,
        test_publish_reports_a_failed_build,
    ]
    for test in tests:
        emulator = CraftEmulator()
        with emulator.client() as client:
            test(client, emulator)
        print(f"passed: {test.__name__} ({len(emulator.requests)} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
