"""`craft deployments ...` and `craft deploy` against the in-process emulator: how each ends
(exit 0, 5 failed, 6 timed out), the status lines on stderr and the deployment on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from craft_sdk import CraftClient
from craft_sdk.testing import CraftEmulator

from .conftest import craft


def test_deploy_pushes_the_folder_and_follows_to_completed(
    client: CraftClient, emu: CraftEmulator, project_id: str, site: Path
) -> None:
    result = craft(client, "--json", "deploy", str(site), "--project", project_id)
    assert result.exit_code == 0, result.stderr
    deployment = json.loads(result.stdout)
    assert deployment["status"] == "completed"
    assert deployment["environment"] == "production"
    assert set(emu.files[project_id]) >= {"index.html", "css/site.css"}
    status_lines = result.stderr.splitlines()
    assert any("3 uploaded" in line for line in status_lines)
    assert f"deployment {deployment['id']} started (production)" in status_lines
    assert any(line.endswith(f"{deployment['id']} building") for line in status_lines)
    assert status_lines[-1].endswith(f"{deployment['id']} completed {deployment['url']}")


def test_deploy_without_a_folder_to_preview(client: CraftClient, project_id: str) -> None:
    result = craft(client, "-q", "deploy", "--project", project_id, "--env", "preview")
    assert result.exit_code == 0
    (deployment_id,) = result.stdout.split()
    assert client.deployments.get(project_id, deployment_id).environment == "preview"
    assert result.stderr == ""  # -q: no status lines


def test_a_failed_build_exits_5(client: CraftClient, emu: CraftEmulator, project_id: str) -> None:
    emu.fail_next_deployment("Syntax error in index.html")
    result = craft(client, "deploy", "--project", project_id)
    assert result.exit_code == 5
    assert result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("craft: error: deployment dep_")
    assert last.endswith("failed: Syntax error in index.html")


def test_a_build_still_going_at_the_timeout_exits_6(
    emu: CraftEmulator, client: CraftClient, project_id: str
) -> None:
    # A minute's build on the emulator's clock (which the wait's sleeps move on), and reads that
    # do not push it along: past the 5 s asked for, well within the default 600.
    emu.build_seconds = 60
    emu.advance_on_poll = False
    started = client.deployments.create(project_id)
    result = craft(client, "deployments", "wait", project_id, started.id, "--timeout", "5")
    assert result.exit_code == 6
    assert f"craft deployments wait {project_id} {started.id}" in result.stderr


def test_deployments_list_get_cancel(client: CraftClient, project_id: str) -> None:
    first = client.deployments.create(project_id)
    second = client.deployments.create(project_id)
    listed = json.loads(craft(client, "--json", "deployments", "list", project_id).stdout)
    assert {d["id"] for d in listed} == {first.id, second.id}
    one_page = craft(client, "-q", "deployments", "list", project_id, "--limit", "1")
    assert len(one_page.stdout.split()) == 1
    every = craft(client, "-q", "deployments", "list", project_id, "--limit", "1", "--all")
    assert sorted(every.stdout.split()) == sorted([first.id, second.id])

    got = json.loads(craft(client, "--json", "deployments", "get", project_id, first.id).stdout)
    assert got["id"] == first.id

    canceled = craft(client, "--json", "deployments", "cancel", project_id, second.id)
    assert json.loads(canceled.stdout)["status"] == "canceled"
    again = craft(client, "deployments", "cancel", project_id, second.id)
    assert again.exit_code == 1
    assert again.stderr.startswith("craft: error: ")


def test_deployments_wait_prints_the_final_deployment(client: CraftClient, project_id: str) -> None:
    started = client.deployments.create(project_id)
    result = craft(client, "-q", "deployments", "wait", project_id, started.id)
    assert result.exit_code == 0
    assert result.stdout == f"{started.id}\n"
    assert client.deployments.get(project_id, started.id).status == "completed"


def test_deploy_needs_a_project_and_an_existing_folder(client: CraftClient, tmp_path: Path) -> None:
    assert craft(client, "deploy").exit_code == 2
    missing = tmp_path / "nope"
    assert craft(client, "deploy", str(missing), "--project", "proj_x").exit_code == 2


def test_deployments_list_page(client: CraftClient, project_id: str) -> None:
    made = [client.deployments.create(project_id).id for _ in range(3)]
    second = craft(client, "deployments", "list", project_id, "--limit", "2", "--page", "2", "-q")
    assert second.exit_code == 0, second.stderr
    (only,) = second.stdout.split()
    assert only in made
    first = craft(client, "deployments", "list", project_id, "--limit", "2", "-q")
    assert sorted([*first.stdout.split(), only]) == sorted(made)


def test_deploy_delete_removes_what_the_folder_lacks(
    client: CraftClient, emu: CraftEmulator, project_id: str, site: Path
) -> None:
    client.files.write(project_id, "old.html", "stale")
    kept = craft(client, "-q", "deploy", str(site), "--project", project_id)
    assert kept.exit_code == 0, kept.stderr
    assert "old.html" in emu.files[project_id]
    pruned = craft(client, "-q", "deploy", str(site), "--project", project_id, "--delete")
    assert pruned.exit_code == 0, pruned.stderr
    assert set(emu.files[project_id]) == {"index.html", "about.html", "css/site.css"}


def test_deploy_pushes_only_what_include_and_exclude_leave(
    client: CraftClient, emu: CraftEmulator, project_id: str, site: Path
) -> None:
    (site / "app.js.map").write_text("{}")
    (site / "notes.txt").write_text("private")
    result = craft(
        client, "-q", "deploy", str(site), "--project", project_id,
        "--include", "*.html", "--include", "*.css", "--include", "*.map",
        "--exclude", "*.map", "--exclude", "about.html",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert set(emu.files[project_id]) == {"index.html", "css/site.css"}
