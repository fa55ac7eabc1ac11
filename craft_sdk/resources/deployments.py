"""`client.deployments`: start, list, read, cancel and wait for deployments of a project.

The public reference does not document deployments yet: paths, body and statuses here are
assumed (see craft-api.md and docs/assumptions.md) and kept in this one module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .._call import Call, api_path
from .._checks import check_choice, check_int, check_seconds
from .._clock import Clock
from .._envelope import data
from .._errors import DeploymentFailedError, WaitTimeoutError
from .._flow import Flow, Sleep
from .._pagination import AsyncPaginator, PageData, SyncPage, page_of
from ..models import Deployment, DeploymentEnvironment
from ._base import AsyncResource, SyncResource
from .projects import PAGE_SIZE_MAX

ENVIRONMENTS: Final = ("preview", "production")
# Polls start at poll_interval and back off by this factor, up to POLL_INTERVAL_MAX seconds.
POLL_BACKOFF: Final = 1.5
POLL_INTERVAL_MAX: Final = 30.0

_deployment = data(Deployment)


def _deployments(project_id: str, *rest: str) -> str:
    return api_path("projects", project_id, "deployments", *rest)


def _create(project_id: str, environment: DeploymentEnvironment | None) -> Call[Deployment]:
    body: dict[str, Any] = {}
    if environment is not None:
        body["environment"] = check_choice("environment", environment, ENVIRONMENTS)
    return Call("POST", _deployments(project_id), parse=_deployment, json=body)


def _list(project_id: str, *, page: int, limit: int | None) -> Call[PageData[Deployment]]:
    params: dict[str, str | int] = {"page": check_int("page", page, minimum=1)}
    if limit is not None:
        params["limit"] = check_int("limit", limit, minimum=1, maximum=PAGE_SIZE_MAX)
    return Call("GET", _deployments(project_id), parse=page_of(Deployment), params=params)


def _get(project_id: str, deployment_id: str) -> Call[Deployment]:
    return Call("GET", _deployments(project_id, deployment_id), parse=_deployment)


def _cancel(project_id: str, deployment_id: str) -> Call[Deployment]:
    return Call("POST", _deployments(project_id, deployment_id, "cancel"), parse=_deployment)


def _wait(
    project_id: str,
    deployment_id: str,
    timeout: float,
    poll_interval: float,
    on_status: Callable[[Deployment], None] | None,
    raise_on_failure: bool,
    clock: Clock,
) -> Flow[Deployment]:
    """Poll until the deployment is final, backing off between polls, within `timeout`."""
    check_seconds("timeout", timeout, zero_allowed=False)
    check_seconds("poll_interval", poll_interval, zero_allowed=False)
    poll = _get(project_id, deployment_id)  # checks the ids before the first poll
    started = clock.monotonic()
    interval = poll_interval
    last_status: str | None = None
    while True:
        deployment: Deployment = yield poll
        if on_status is not None and deployment.status != last_status:
            on_status(deployment)
        last_status = deployment.status
        if deployment.is_final:
            if deployment.status == "failed" and raise_on_failure:
                raise DeploymentFailedError(deployment)
            return deployment
        time_left = timeout - (clock.monotonic() - started)
        if time_left <= 0:
            raise WaitTimeoutError(deployment, timeout)
        # The last sleep ends exactly at the timeout, for one last look.
        yield Sleep(min(interval, time_left))
        interval = min(interval * POLL_BACKOFF, POLL_INTERVAL_MAX)


class Deployments(SyncResource):
    """The deployments of a project: `client.deployments`."""

    def create(
        self, project_id: str, *, environment: DeploymentEnvironment | None = None
    ) -> Deployment:
        """Start a deployment (a build) of a project, to "preview" or "production".

        A POST: not retried once the request may have reached the API (except after a 429), so
        it cannot start two deployments.

        Args:
            project_id: The project to deploy.
            environment: "preview" or "production"; None (the default) sends an empty body and
                lets the API choose.

        Returns:
            The new deployment; follow it with `wait`.

        Raises:
            ValueError: `environment` is not "preview" or "production", or `project_id` is
                empty, "." or ".." (`TypeError` when not a str), before anything is sent.
            APIError: The API refused (`NotFoundError` for an unknown project).
        """
        return self._send(_create(project_id, environment))

    def list(
        self,
        project_id: str,
        *,
        limit: int | None = None,
        page: int = 1,
        max_items: int | None = None,
    ) -> SyncPage[Deployment]:
        """A project's deployments, page by page, like `projects.list`: iterate the result for
        every deployment of every page, or use it as the first page.

        Args:
            project_id: The project whose deployments to list.
            limit: Deployments per page, 1 to 100; None leaves it to the API.
            page: The page to start from, from 1.
            max_items: Stop iterating after this many deployments (at least 1); None for all.

        Returns:
            The first page, fetched at once; iterate it for every item of every page.

        Raises:
            ValueError: `limit`, `page` or `max_items` is out of range, or `project_id` is
                empty, "." or ".." (`TypeError` for a value of the wrong type).
        """
        call = _list(project_id, page=page, limit=limit)
        return self._paginate(call, max_items)

    def get(self, project_id: str, deployment_id: str) -> Deployment:
        """One deployment.

        Args:
            project_id: The project the deployment belongs to.
            deployment_id: The deployment, such as "dep_abc123".

        Returns:
            The deployment as it stands now.

        Raises:
            NotFoundError: No such project or deployment.
        """
        return self._send(_get(project_id, deployment_id))

    def cancel(self, project_id: str, deployment_id: str) -> Deployment:
        """Cancel a deployment that is still queued or building.

        A POST: not retried once the request may have reached the API (except after a 429).

        Args:
            project_id: The project the deployment belongs to.
            deployment_id: The deployment to cancel.

        Returns:
            The deployment, as the API answered the cancel.

        Raises:
            NotFoundError: No such project or deployment.
            APIError: The API refused; the emulator answers `ConflictError` for a deployment
                that is already final.
        """
        return self._send(_cancel(project_id, deployment_id))

    def wait(
        self,
        project_id: str,
        deployment_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        on_status: Callable[[Deployment], None] | None = None,
        raise_on_failure: bool = True,
    ) -> Deployment:
        """Poll a deployment until it is completed, failed or canceled, and return it.

        The first poll is made at once; polls then start `poll_interval` seconds apart and back
        off (x1.5 after each, up to 30 s). Each poll is a `get`, retried like any GET. Time is
        read from the client's clock, so on a `FakeClock` a wait takes no real time.

        Args:
            project_id: The project the deployment belongs to.
            deployment_id: The deployment to wait for.
            timeout: Seconds to wait for a final status, a positive number. It is checked
                between polls, so a wait can overrun it by the length of one poll.
            poll_interval: Seconds between the first polls, a positive number.
            on_status: Called with the deployment first seen, then whenever its status changes.
            raise_on_failure: Raise `DeploymentFailedError` for a failed deployment (the
                default); False returns it instead.

        Returns:
            The deployment in its final status.

        Raises:
            DeploymentFailedError: The deployment failed (unless `raise_on_failure=False`); its
                `deployment` is the failed deployment.
            WaitTimeoutError: No final status within `timeout`; its `deployment` is the last
                state seen.
            ValueError: `timeout` or `poll_interval` is not positive and finite (`TypeError`
                when not a number), before the first poll.
        """
        options = (timeout, poll_interval, on_status, raise_on_failure, self._clock)
        return self._run(_wait(project_id, deployment_id, *options))


class AsyncDeployments(AsyncResource):
    """The deployments of a project: `client.deployments`."""

    async def create(
        self, project_id: str, *, environment: DeploymentEnvironment | None = None
    ) -> Deployment:
        """Start a deployment (a build) of a project, to "preview" or "production".

        A POST: not retried once the request may have reached the API (except after a 429), so
        it cannot start two deployments.

        Args:
            project_id: The project to deploy.
            environment: "preview" or "production"; None (the default) sends an empty body and
                lets the API choose.

        Returns:
            The new deployment; follow it with `wait`.

        Raises:
            ValueError: `environment` is not "preview" or "production", or `project_id` is
                empty, "." or ".." (`TypeError` when not a str), before anything is sent.
            APIError: The API refused (`NotFoundError` for an unknown project).
        """
        return await self._send(_create(project_id, environment))

    def list(
        self,
        project_id: str,
        *,
        limit: int | None = None,
        page: int = 1,
        max_items: int | None = None,
    ) -> AsyncPaginator[Deployment]:
        """A project's deployments, page by page, like `projects.list`: iterate the result for
        every deployment of every page, or use it as the first page.

        Args:
            project_id: The project whose deployments to list.
            limit: Deployments per page, 1 to 100; None leaves it to the API.
            page: The page to start from, from 1.
            max_items: Stop iterating after this many deployments (at least 1); None for all.

        Returns:
            An `AsyncPaginator`, at once: `await` it for the first page, or `async for` it for
            every item of every page (nothing is sent until then).

        Raises:
            ValueError: `limit`, `page` or `max_items` is out of range, or `project_id` is
                empty, "." or ".." (`TypeError` for a value of the wrong type).
        """
        call = _list(project_id, page=page, limit=limit)
        return self._paginate(call, max_items)

    async def get(self, project_id: str, deployment_id: str) -> Deployment:
        """One deployment.

        Args:
            project_id: The project the deployment belongs to.
            deployment_id: The deployment, such as "dep_abc123".

        Returns:
            The deployment as it stands now.

        Raises:
            NotFoundError: No such project or deployment.
        """
        return await self._send(_get(project_id, deployment_id))

    async def cancel(self, project_id: str, deployment_id: str) -> Deployment:
        """Cancel a deployment that is still queued or building.

        A POST: not retried once the request may have reached the API (except after a 429).

        Args:
            project_id: The project the deployment belongs to.
            deployment_id: The deployment to cancel.

        Returns:
            The deployment, as the API answered the cancel.

        Raises:
            NotFoundError: No such project or deployment.
            APIError: The API refused; the emulator answers `ConflictError` for a deployment
                that is already final.
        """
        return await self._send(_cancel(project_id, deployment_id))

    async def wait(
        self,
        project_id: str,
        deployment_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        on_status: Callable[[Deployment], None] | None = None,
        raise_on_failure: bool = True,
    ) -> Deployment:
        """Poll a deployment until it is completed, failed or canceled, and return it.

        The first poll is made at once; polls then start `poll_interval` seconds apart and back
        off (x1.5 after each, up to 30 s). Each poll is a `get`, retried like any GET. Time is
        read from the client's clock, so on a `FakeClock` a wait takes no real time.

        Args:
            project_id: The project the deployment belongs to.
            deployment_id: The deployment to wait for.
            timeout: Seconds to wait for a final status, a positive number. It is checked
                between polls, so a wait can overrun it by the length of one poll.
            poll_interval: Seconds between the first polls, a positive number.
            on_status: Called with the deployment first seen, then whenever its status changes.
            raise_on_failure: Raise `DeploymentFailedError` for a failed deployment (the
                default); False returns it instead.

        Returns:
            The deployment in its final status.

        Raises:
            DeploymentFailedError: The deployment failed (unless `raise_on_failure=False`); its
                `deployment` is the failed deployment.
            WaitTimeoutError: No final status within `timeout`; its `deployment` is the last
                state seen.
            ValueError: `timeout` or `poll_interval` is not positive and finite (`TypeError`
                when not a number), before the first poll.
        """
        options = (timeout, poll_interval, on_status, raise_on_failure, self._clock)
        return await self._run(_wait(project_id, deployment_id, *options))


__all__ = ["AsyncDeployments", "Deployments"]
