"""The Craft API's rules over one account's state: routes, keys, projects, files, deployments that
build on the clock, and OAuth tokens.

`Account` knows nothing of rate limits, injected faults, webhook delivery or sockets (the
`CraftEmulator` around it adds those): it turns a request into an answer and the state changes it
makes into webhook bodies, in `outbox`. It is not thread-safe; the emulator calls it under its lock.

Where craft-api.md marks something as assumed, the emulator does what the SDK assumes.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from .._clock import Clock
from .._http import httpx
from ._wire import Answer, Reject, Request, copy, dumps, invalid, iso, json_body, ok, page

TEMPLATES: Final = ("blank", "dashboard", "landing-page", "portfolio")
PROJECT_STATUSES: Final = ("active", "archived")
SORT_FIELDS: Final = ("name", "createdAt", "updatedAt")
SORT_ORDERS: Final = ("asc", "desc")
ENVIRONMENTS: Final = ("preview", "production")
NAME_MAX_LENGTH: Final = 100
DESCRIPTION_MAX_LENGTH: Final = 500
PAGE_SIZE_DEFAULT: Final = 20
PAGE_SIZE_MAX: Final = 100
TOKEN_LIFETIME: Final = 3600
# Every template builds the same way here; the real API may differ per template.
PROJECT_SETTINGS: Final = {"framework": "react", "styling": "tailwind"}
USER: Final = {
    "id": "user_emulator",
    "email": "developer@craft.localhost",
    "name": "Craft Emulator",
}

# A deployment's phases; `phase` only ever grows.
_QUEUED, _BUILDING, _FINAL = 0, 1, 2
_FINAL_STATUSES: Final = frozenset({"completed", "failed", "canceled"})
_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclasses.dataclass
class _Build:
    """What drives one deployment: when it started, how far it got, and how it will end."""

    started: float  # clock.monotonic() at creation
    phase: int = _QUEUED
    error: str | None = None  # set: the build ends as "failed" with this message


@dataclasses.dataclass(frozen=True)
class Route:
    """A request's place in the API: its handler, bound to the account and the path's
    parameters; the endpoint's name (such as "POST /projects"), which per-endpoint rate limits
    are keyed on; and whether it takes a key (the token endpoint takes the app's credentials)."""

    run: Callable[[Request], Answer]
    endpoint: str
    needs_key: bool


class Account:
    """One account's state, and the API's rules over it.

    Args:
        api_key: The key that may do everything.
        read_only_keys: Keys that may read but get 403 FORBIDDEN on any write.
        clock: Where timestamps and build progress come from.
        prefix: The path the API answers under ("/v1"), without a trailing slash.
        build_seconds: How long a deployment takes: building after half of it, final after it.
        advance_on_poll: Whether each read of a deployment also moves it one step on.
    """

    def __init__(
        self,
        *,
        api_key: str,
        read_only_keys: Iterable[str],
        clock: Clock,
        prefix: str,
        build_seconds: float,
        advance_on_poll: bool,
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self.build_seconds = build_seconds
        self.advance_on_poll = advance_on_poll
        self.user: dict[str, Any] = dict(USER)
        self.projects: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.outbox: list[bytes] = []
        """Webhook bodies of the state changes made, for the emulator to take and deliver."""
        self.doomed: list[str] = []
        """Errors for the next deployments created, in order: each of them fails."""

        self._prefix = prefix
        self._read_only_keys = frozenset(read_only_keys)
        self._sequence = itertools.count()
        # Private bookkeeping beside the public state.
        self._created_order: dict[str, int] = {}  # project id -> creation number
        self._updated_order: dict[str, int] = {}  # project id -> number of its last update
        self._file_times: dict[str, dict[str, str]] = {}  # project id -> {path: updatedAt}
        self._builds: dict[str, _Build] = {}
        self._access_tokens: dict[str, float] = {}  # token -> expiry (clock.time())
        self._refresh_tokens: set[str] = set()
        self._used_codes: set[str] = set()

    def answer(self, route: Route, key: str | None, request: Request) -> Answer:
        """Run the route's handler for an admitted request (its key checked, its rate spent)."""
        if key in self._read_only_keys and request.method in _WRITE_METHODS:
            raise Reject(403, "FORBIDDEN", "This API key is read-only.")
        self._advance_by_clock()
        return route.run(request)

    def route(self, method: str, raw_path: str) -> Route | None:
        """Where the request goes, or None for no endpoint; a malformed path raises `Reject`."""
        if not raw_path.startswith(self._prefix + "/"):
            return None
        segments = [_decode(segment) for segment in raw_path[len(self._prefix) + 1 :].split("/")]
        for route_method, pattern, handler in self._ROUTES:
            if route_method != method:
                continue
            arguments = _match(pattern, segments)
            if arguments is not None:
                return Route(
                    run=functools.partial(handler, self, arguments=arguments),
                    endpoint=f"{method} /{'/'.join(pattern)}",
                    needs_key=handler is not Account._token,
                )
        return None

    def authenticate(self, headers: httpx.Headers) -> str:
        """The request's key, if it may use the API; else `Reject` (401)."""
        header: str = headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise Reject(
                401, "UNAUTHORIZED", "Missing API key: send 'Authorization: Bearer <key>'."
            )
        if key == self.api_key or key in self._read_only_keys:
            return key
        expiry = self._access_tokens.get(key)
        if expiry is not None and self.clock.time() < expiry:
            return key
        message = "The access token has expired." if expiry is not None else "Invalid API key."
        raise Reject(401, "UNAUTHORIZED", message)

    # ---- helpers shared by the handlers -----------------------------------------------------

    def _now(self) -> str:
        return iso(self.clock.time())

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        self.outbox.append(dumps({"event": event, "timestamp": self._now(), "data": data}))

    def _project(self, project_id: str) -> dict[str, Any]:
        project = self.projects.get(project_id)
        if project is None:
            raise Reject(
                404,
                "PROJECT_NOT_FOUND",
                f"Project {project_id} not found.",
                {"projectId": project_id},
            )
        return project

    def _new_id(self, prefix: str, taken: Mapping[str, object]) -> str:
        while (new_id := f"{prefix}_{secrets.token_hex(6)}") in taken:
            pass
        return new_id

    # ---- /me and /oauth/token ---------------------------------------------------------------

    def _me(self, request: Request, arguments: list[str]) -> Answer:
        return ok(dict(self.user))

    def _token(self, request: Request, arguments: list[str]) -> Answer:
        """RFC 6749 section 5: answers and errors unwrapped, as OAuth clients expect."""
        fields = _token_request_fields(request)
        if fields is None:
            return _oauth_error("invalid_request", "The body must be a JSON object.")
        grant = fields.get("grant_type")
        wanted: tuple[str, ...]
        if grant == "authorization_code":
            wanted = ("code", "redirect_uri", "client_id", "client_secret")
        elif grant == "refresh_token":
            wanted = ("refresh_token", "client_id", "client_secret")
        else:
            return _oauth_error("unsupported_grant_type", f"Unsupported grant_type: {grant!r}.")
        missing = [name for name in wanted if not isinstance(fields.get(name), str)]
        if missing or not all(fields[name].strip() for name in wanted):
            return _oauth_error("invalid_request", f"Missing or empty: {', '.join(wanted)}.")
        if grant == "authorization_code":
            if fields["code"] in self._used_codes:
                return _oauth_error("invalid_grant", "The authorization code was already used.")
            self._used_codes.add(fields["code"])
        else:
            if fields["refresh_token"] not in self._refresh_tokens:
                return _oauth_error("invalid_grant", "The refresh token is invalid or used.")
            self._refresh_tokens.discard(fields["refresh_token"])  # rotated: each works once
        access_token = "craft_at_" + secrets.token_hex(16)
        refresh_token = "craft_rt_" + secrets.token_hex(16)
        self._access_tokens[access_token] = self.clock.time() + TOKEN_LIFETIME
        self._refresh_tokens.add(refresh_token)
        token = {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": "read write",
        }
        return Answer(200, dumps(token), headers={"Cache-Control": "no-store"})

    # ---- projects ---------------------------------------------------------------------------

    def _list_projects(self, request: Request, arguments: list[str]) -> Answer:
        number, limit = _page_params(request.query)
        status = _choice(request.query, "status", PROJECT_STATUSES)
        sort = _choice(request.query, "sort", SORT_FIELDS) or "createdAt"
        order = _choice(request.query, "order", SORT_ORDERS) or "desc"

        def key(project: dict[str, Any]) -> tuple[Any, ...]:
            project_id = project["id"]
            if sort == "name":
                return (project["name"].casefold(), self._created_order[project_id])
            if sort == "updatedAt":
                return (project["updatedAt"], self._updated_order[project_id])
            return (project["createdAt"], self._created_order[project_id])

        chosen = [p for p in self.projects.values() if status is None or p["status"] == status]
        chosen.sort(key=key, reverse=order == "desc")
        listed = [{k: v for k, v in p.items() if k not in ("settings", "stats")} for p in chosen]
        return page(listed, number=number, limit=limit)

    def _create_project(self, request: Request, arguments: list[str]) -> Answer:
        body = json_body(request.body, fields=("name", "description", "template"))
        name = _check_name(body.get("name"))
        # Absent is fine, null is not: only an update clears a description with null.
        if "description" in body and body["description"] is None:
            raise invalid("description", "description must be a string.")
        description = _check_description(body.get("description"))
        template = body.get("template")
        if "template" in body:
            if not isinstance(template, str):
                raise invalid("template", "template must be a string.")
            if template not in TEMPLATES:
                raise Reject(
                    400,
                    "TEMPLATE_NOT_FOUND",
                    f"Template {template!r} not found.",
                    {"template": template, "available": list(TEMPLATES)},
                )
        project_id = self._new_id("proj", self.projects)
        now = self._now()
        project = {
            "id": project_id,
            "name": name,
            "description": description,
            "status": "active",
            "template": template,
            "previewUrl": f"https://preview.craft.fast/{project_id}",
            "createdAt": now,
            "updatedAt": now,
            "settings": dict(PROJECT_SETTINGS),
            # No lastEditedAt until a file changes: the contract's timestamps are never null.
            "stats": {"files": 0},
        }
        self.projects[project_id] = project
        self.files[project_id] = {}
        self._file_times[project_id] = {}
        self._created_order[project_id] = self._updated_order[project_id] = next(self._sequence)
        self._emit("project.created", {"projectId": project_id})
        return ok(copy(project), status=201)

    def _get_project(self, request: Request, arguments: list[str]) -> Answer:
        return ok(copy(self._project(arguments[0])))

    def _update_project(self, request: Request, arguments: list[str]) -> Answer:
        project = self._project(arguments[0])
        body = json_body(request.body, fields=("name", "description", "status"))
        # Everything is checked before anything changes.
        updates: dict[str, Any] = {}
        if "name" in body:
            updates["name"] = _check_name(body["name"])
        if "description" in body:
            updates["description"] = _check_description(body["description"])
        if "status" in body:
            if body["status"] not in PROJECT_STATUSES:
                raise invalid("status", "status must be 'active' or 'archived'.")
            updates["status"] = body["status"]
        if not updates:
            raise Reject(
                400, "INVALID_REQUEST", "Nothing to update: give name, description or status."
            )
        changes = [field for field, value in updates.items() if project[field] != value]
        if changes:
            project.update(updates)
            project["updatedAt"] = self._now()
            self._updated_order[project["id"]] = next(self._sequence)
            self._emit("project.updated", {"projectId": project["id"], "changes": changes})
        # Partial, as the reference allows: what was asked for, plus id and updatedAt.
        return ok({"id": project["id"], **updates, "updatedAt": project["updatedAt"]})

    def _delete_project(self, request: Request, arguments: list[str]) -> Answer:
        project_id = self._project(arguments[0])["id"]
        del self.projects[project_id]
        self.files.pop(project_id, None)
        self._file_times.pop(project_id, None)
        self._created_order.pop(project_id, None)
        self._updated_order.pop(project_id, None)
        for deployment_id in [
            d for d, deployment in self.deployments.items() if deployment["projectId"] == project_id
        ]:
            del self.deployments[deployment_id]
            del self._builds[deployment_id]
        self._emit("project.deleted", {"projectId": project_id})
        return ok({"id": project_id, "deleted": True})

    # ---- files ------------------------------------------------------------------------------

    def _list_files(self, request: Request, arguments: list[str]) -> Answer:
        project_id = self._project(arguments[0])["id"]
        # Not paginated: the whole list answers any page; a page that is no page is refused.
        _int_param(request.query, "page", 1, minimum=1)
        files = self.files.get(project_id, {})
        directories = {parent for path in files for parent in _parents(path)}
        entries = [{"path": d, "type": "directory"} for d in directories]
        entries += [self._file_entry(project_id, path) for path in files]
        entries.sort(key=lambda entry: entry["path"])
        return ok(entries)

    def _read_file(self, request: Request, arguments: list[str]) -> Answer:
        project_id, path = arguments
        self._project(project_id)
        content = self.files.get(project_id, {}).get(path)
        if content is None:
            raise _file_not_found(path)
        return Answer(200, content, content_type=_content_type(content))

    def _write_file(self, request: Request, arguments: list[str]) -> Answer:
        project_id, path = arguments
        project = self._project(project_id)
        files = self.files.setdefault(project_id, {})
        if any(other.startswith(path + "/") for other in files):
            raise Reject(409, "CONFLICT", f"{path} is a directory.", {"path": path})
        if clash := next((parent for parent in _parents(path) if parent in files), None):
            raise Reject(409, "CONFLICT", f"{clash} is a file, not a directory.", {"path": path})
        created = path not in files
        now = self._now()
        files[path] = request.body
        self._file_times.setdefault(project_id, {})[path] = now
        project["stats"] = {"files": len(files), "lastEditedAt": now}
        return ok(self._file_entry(project_id, path), status=201 if created else 200)

    def _delete_file(self, request: Request, arguments: list[str]) -> Answer:
        project_id, path = arguments
        project = self._project(project_id)
        files = self.files.get(project_id, {})
        if path not in files:
            raise _file_not_found(path)
        del files[path]
        self._file_times.get(project_id, {}).pop(path, None)
        project["stats"] = {"files": len(files), "lastEditedAt": self._now()}
        return ok({"path": path, "deleted": True})

    def _file_entry(self, project_id: str, path: str) -> dict[str, Any]:
        updated_at = self._file_times.get(project_id, {}).get(path)
        return {
            "path": path,
            "type": "file",
            "size": len(self.files[project_id][path]),
            "updatedAt": updated_at or self.projects[project_id]["createdAt"],
        }

    # ---- deployments ------------------------------------------------------------------------

    def _list_deployments(self, request: Request, arguments: list[str]) -> Answer:
        project_id = self._project(arguments[0])["id"]
        number, limit = _page_params(request.query)
        mine = [copy(d) for d in self.deployments.values() if d["projectId"] == project_id]
        return page(mine[::-1], number=number, limit=limit)  # newest first

    def _create_deployment(self, request: Request, arguments: list[str]) -> Answer:
        project_id = self._project(arguments[0])["id"]
        body = json_body(request.body, optional=True, fields=("environment",))
        environment = body.get("environment", "preview")
        if environment not in ENVIRONMENTS:
            raise invalid("environment", "environment must be 'preview' or 'production'.")
        deployment_id = self._new_id("dep", self.deployments)
        now = self._now()
        deployment = {
            "id": deployment_id,
            "projectId": project_id,
            "status": "queued",
            "environment": environment,
            "url": None,
            "error": None,
            "createdAt": now,
            "updatedAt": now,
            "completedAt": None,
        }
        self.deployments[deployment_id] = deployment
        error = self.doomed.pop(0) if self.doomed else None
        self._builds[deployment_id] = _Build(started=self.clock.monotonic(), error=error)
        return ok(copy(deployment), status=201)

    def _get_deployment(self, request: Request, arguments: list[str]) -> Answer:
        deployment = self._deployment(*arguments)
        if self.advance_on_poll:
            # Each look moves it one step on, so that polling finishes without time passing.
            self._advance(deployment["id"], self._builds[deployment["id"]].phase + 1)
        return ok(copy(deployment))

    def _cancel_deployment(self, request: Request, arguments: list[str]) -> Answer:
        deployment = self._deployment(*arguments)
        if deployment["status"] in _FINAL_STATUSES:
            raise Reject(
                409,
                "CONFLICT",
                f"Deployment {deployment['id']} is already {deployment['status']}.",
                {"status": deployment["status"]},
            )
        now = self._now()
        deployment.update(status="canceled", updatedAt=now, completedAt=now)
        self._builds[deployment["id"]].phase = _FINAL
        return ok(copy(deployment))

    def _deployment(self, project_id: str, deployment_id: str) -> dict[str, Any]:
        self._project(project_id)
        deployment = self.deployments.get(deployment_id)
        if deployment is None or deployment["projectId"] != project_id:
            raise Reject(
                404,
                "DEPLOYMENT_NOT_FOUND",
                f"Deployment {deployment_id} not found.",
                {"deploymentId": deployment_id},
            )
        return deployment

    def _advance_by_clock(self) -> None:
        """Move every deployment to where the clock says it should be by now."""
        now = self.clock.monotonic()
        for deployment_id, build in self._builds.items():
            if build.phase >= _FINAL:
                continue  # finished builds (most of them, in a long test) have nothing to do
            elapsed = now - build.started
            if elapsed >= self.build_seconds:
                self._advance(deployment_id, _FINAL)
            elif elapsed >= self.build_seconds / 2:
                self._advance(deployment_id, _BUILDING)

    def _advance(self, deployment_id: str, phase: int) -> None:
        """Step a deployment up to `phase`, one phase at a time, with a webhook for each."""
        build = self._builds[deployment_id]
        deployment = self.deployments[deployment_id]
        event_data = {"projectId": deployment["projectId"], "deploymentId": deployment_id}
        while build.phase < min(phase, _FINAL):
            build.phase += 1
            now = self._now()
            deployment["updatedAt"] = now
            if build.phase == _BUILDING:
                deployment["status"] = "building"
                self._emit("build.started", {**event_data, "status": "building"})
            elif build.error is None:
                url = f"https://{deployment_id}.craft.app"
                deployment.update(status="completed", url=url, completedAt=now)
                self._emit("build.completed", {**event_data, "status": "completed", "url": url})
            else:
                deployment.update(status="failed", error=build.error, completedAt=now)
                self._emit("build.failed", {**event_data, "status": "failed", "error": build.error})

    # ---- routes (after the handlers they name) ----------------------------------------------

    # A route is (method, pattern, handler); in a pattern "*" is one path parameter and "**" the
    # rest of the path (a file path, one or more segments).
    _ROUTES: Final = (
        ("GET", ("me",), _me),
        ("POST", ("oauth", "token"), _token),
        ("GET", ("projects",), _list_projects),
        ("POST", ("projects",), _create_project),
        ("GET", ("projects", "*"), _get_project),
        ("PATCH", ("projects", "*"), _update_project),
        ("DELETE", ("projects", "*"), _delete_project),
        ("GET", ("projects", "*", "files"), _list_files),
        ("GET", ("projects", "*", "files", "**"), _read_file),
        ("PUT", ("projects", "*", "files", "**"), _write_file),
        ("DELETE", ("projects", "*", "files", "**"), _delete_file),
        ("GET", ("projects", "*", "deployments"), _list_deployments),
        ("POST", ("projects", "*", "deployments"), _create_deployment),
        ("GET", ("projects", "*", "deployments", "*"), _get_deployment),
        ("POST", ("projects", "*", "deployments", "*", "cancel"), _cancel_deployment),
    )


def _match(pattern: tuple[str, ...], segments: list[str]) -> list[str] | None:
    """The path parameters if `segments` fit `pattern`, else None."""
    takes_rest = pattern[-1] == "**"
    fixed = pattern[:-1] if takes_rest else pattern
    if len(segments) < len(fixed) + takes_rest or (not takes_rest and len(segments) > len(fixed)):
        return None
    arguments: list[str] = []
    for expected, segment in zip(fixed, segments[: len(fixed)], strict=True):
        if expected == "*" and segment:  # an empty segment is no id: /projects/ is no route
            arguments.append(segment)
        elif expected != segment:
            return None
    if takes_rest:
        arguments.append(_file_path(segments[len(fixed) :]))
    return arguments


def _decode(segment: str) -> str:
    """One path segment, percent-decoded on its own (so %2F in an id stays in the id)."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise Reject(400, "INVALID_REQUEST", "The path is not valid UTF-8.") from None


def _file_path(segments: list[str]) -> str:
    """The file path from its (decoded) segments. A `%2F` is read as the separator it encodes,
    as generic OpenAPI clients percent-encode the whole parameter; the parts it makes are
    checked like any other."""
    parts = [part for segment in segments for part in segment.split("/")]
    for segment in parts:
        if segment in ("", ".", "..") or "\\" in segment:
            raise Reject(
                400,
                "INVALID_REQUEST",
                "A file path may not hold empty, '.' or '..' parts, or backslashes.",
                {"field": "path"},
            )
    return "/".join(parts)


def _parents(path: str) -> list[str]:
    """The directories above a file: "a/b/c.txt" -> ["a", "a/b"]."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _content_type(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "application/octet-stream" if "\x00" in text else "text/plain; charset=utf-8"


def _token_request_fields(request: Request) -> dict[str, Any] | None:
    """The token request's fields: JSON (what the SDK sends) or a form (what RFC 6749 says)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(request.body.decode("utf-8", "replace")))
    try:
        return json_body(request.body)
    except Reject:
        return None


def _check_name(name: object) -> str:
    # Blank as the SDK counts it (str.strip); the length is the name's as sent.
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_LENGTH:
        raise Reject(
            400,
            "INVALID_PROJECT_NAME",
            f"name must be a string of 1 to {NAME_MAX_LENGTH} characters.",
            {"field": "name"},
        )
    return name.strip()


def _check_description(description: object) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_LENGTH:
        raise invalid(
            "description", f"description must be a string of at most {DESCRIPTION_MAX_LENGTH}."
        )
    return description


def _page_params(query: Mapping[str, str]) -> tuple[int, int]:
    page = _int_param(query, "page", 1, minimum=1)
    limit = _int_param(query, "limit", PAGE_SIZE_DEFAULT, minimum=1, maximum=PAGE_SIZE_MAX)
    return page, limit


def _int_param(
    query: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    if name not in query:
        return default
    raw = query[name].strip()
    # ASCII digits only: no sign, no spaces, no "1e3", no "²" (which isdigit() accepts).
    number = int(raw) if raw.isascii() and raw.isdigit() else None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"{minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise invalid(name, f"{name} must be a whole number, {bounds}.")
    return number


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise invalid(name, f"{name} must be one of {', '.join(allowed)}.")
    return value


def _file_not_found(path: str) -> Reject:
    return Reject(404, "FILE_NOT_FOUND", f"File {path} not found.", {"path": path})


def _oauth_error(error: str, description: str) -> Answer:
    body = {"error": error, "error_description": description}
    return Answer(400, dumps(body), headers={"Cache-Control": "no-store"})
