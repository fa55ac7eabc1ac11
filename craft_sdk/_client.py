"""`CraftClient` and `AsyncCraftClient`: the only code that differs between sync and async.

A resource method builds a `Call` and hands it to `_send`, which reads top to bottom:

    start the call's deadline
    make one attempt (`_attempt`):
        wait while the rate limit is spent (_rate_limit.RateLimitGate)
        build the request (_transport.Channel), its timeouts cut to the deadline
        take a connection slot (_transport.ConnectionSlots: no more in flight than the pool holds)
        send it (through the Channel) and read the body, bounded in time and size; httpx
        failures become our errors
        note the rate limit, log (and record, for `with_response`: _raw), and read the answer
        into a model or a typed error (_envelope)
    if it failed, make more attempts for as long as the retry policy allows (`_retry`:
    tenacity, with the policy in _retry.py)

A call that streams a file has its default deadline renewed by every chunk that moves
(_clock.Deadline), so it bounds the time without progress, not the transfer's length.

Everything else the two clients share lives in `_BaseClient`, which does no I/O.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextvars import copy_context
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast

import pydantic
from typing_extensions import Self

from ._batch import Batch
from ._body import Download, FileContent, expected_size
from ._call import Call, QueryValue
from ._clock import SYSTEM_CLOCK, Clock, Deadline
from ._config import ApiKey, ClientConfig
from ._errors import CraftError, WrongEventLoopError
from ._flow import Flow, Local, Many, Sleep
from ._http import httpx
from ._pagination import AsyncPaginator, PageData, SyncPage, check_max_items
from ._rate_limit import (
    Admission,
    Gate,
    Lease,
    RateLimit,
    RateLimitGate,
    RateLimitStore,
)
from ._raw import (
    WithResponse,
    raw_call,
    raw_list_call,
    record_response,
    recording_responses,
    with_responses,
)
from ._retry import recording_attempt, retry_policy
from ._transport import (
    DEFAULT_POOL_LIMITS,
    Channel,
    ConnectionSlots,
    PoolChannel,
    aread_body,
    bound_by,
    deadline_error,
    log_response,
    pool_size,
    read_body,
    read_head,
    running_loop,
    transport_errors,
)
from ._types import NOT_GIVEN, NotGiven, public
from .models import CraftModel, User
from .resources._base import AsyncSender, SyncSender
from .resources.deployments import AsyncDeployments, Deployments
from .resources.files import AsyncFiles, Files
from .resources.me import me
from .resources.oauth import AsyncOAuth, OAuth
from .resources.projects import AsyncProjects, Projects

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Future

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=pydantic.BaseModel)
HttpClientT = TypeVar("HttpClientT", httpx.Client, httpx.AsyncClient)


def _no_api_key() -> str:
    raise CraftError(
        "This client was made with for_oauth() and has no API key: it can only make OAuth "
        "token calls. Build one with api_key=... (or an access token) for the rest of the API."
    )


class EventLoopBinding:
    """The event loop an async client's connections belong to: the first one it ran on.

    httpx gives no clear error when a pool made on one loop is used from another (often a test
    suite's second `asyncio.run`): it fails with "Event loop is closed", or hangs. Checked at the
    start of every call, so the mistake is named instead.
    """

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    def check(self, client_name: str) -> None:
        loop = running_loop()
        if loop is None:
            return  # not asyncio (trio, through anyio): its own rules apply
        if self._loop is None:
            self._loop = weakref.ref(loop)
        elif self._loop() is not loop:
            raise WrongEventLoopError(
                f"This {client_name} was first used on another event loop, and its connections "
                "belong to that loop. Create one client per event loop: for example "
                f"`async with {client_name}() as client:` inside the coroutine that asyncio.run "
                "runs, or a fixture with the same scope as the event loop in tests."
            )


class _BaseClient(Generic[HttpClientT]):
    _config: ClientConfig
    _http: HttpClientT
    _owns_http: bool
    _channel: Channel
    _clock: Clock
    _gate: Gate
    _owns_gate: bool
    _event_loop: EventLoopBinding  # checked by the async client only
    _slots: ConnectionSlots

    _http_class: type[HttpClientT]

    def _setup(
        self,
        http_client: HttpClientT | None,
        *,
        timeout: float | httpx.Timeout | None,
        clock: Clock | None,
        rate_limit_store: RateLimitStore | None,
        **options: Any,
    ) -> None:
        if http_client is not None and not isinstance(cast(object, http_client), self._http_class):
            raise CraftError(
                f"http_client must be an httpx.{self._http_class.__name__}, not "
                f"{type(http_client).__name__}; CraftClient takes an httpx.Client and "
                "AsyncCraftClient an httpx.AsyncClient."
            )
        if timeout is None and http_client is not None:
            timeout = http_client.timeout  # the caller's client, the caller's timeout
        config = ClientConfig.build(timeout=timeout, **options)
        # Without http_client the pool is ours, so ours to close, and its requests go straight
        # to it. Either way, redirects are never followed.
        http = http_client or self._http_class(timeout=config.timeout, limits=DEFAULT_POOL_LIMITS)
        clock = clock or SYSTEM_CLOCK
        in_process = RateLimitGate(clock)
        gate: Gate = in_process
        if rate_limit_store is not None:
            gate = rate_limit_store.gate_for(
                api_key=config.api_key.reveal,
                base_url=config.base_url_text,
                fallback=in_process,
                asynchronous=self._http_class is httpx.AsyncClient,
            )
        self._init(
            config,
            http,
            owns_http=http_client is None,
            channel=PoolChannel.of(http, config) if http_client is None else Channel(http, config),
            clock=clock,
            gate=gate,
            owns_gate=True,
            event_loop=EventLoopBinding(),
            slots=ConnectionSlots(pool_size(http, made_by_sdk=http_client is None)),
        )

    def _init(
        self,
        config: ClientConfig,
        http: HttpClientT,
        *,
        owns_http: bool,
        channel: Channel,
        clock: Clock,
        gate: Gate,
        owns_gate: bool,
        event_loop: EventLoopBinding,
        slots: ConnectionSlots,
    ) -> None:
        self._config = config
        self._http = http
        self._owns_http = owns_http
        self._channel = channel
        self._clock = clock
        self._gate = gate
        self._owns_gate = owns_gate
        self._event_loop = event_loop
        self._slots = slots

    @classmethod
    def for_oauth(cls, **options: Any) -> Self:
        """A client with no API key, for an OAuth app's token calls (`client.oauth`).

        Any call that needs a key raises `CraftError` before it is sent; build a client with
        `api_key=token.access_token` for those.

        Args:
            **options: Any other argument of the constructor, such as `base_url` or `timeout`
                (not `api_key`).
        """
        return cls(api_key=_no_api_key, **options)  # type: ignore[call-arg]

    @property
    def base_url(self) -> httpx.URL:
        """The URL every request path is appended to."""
        return self._config.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The httpx timeout of each attempt."""
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed request may be retried (so at most 1 + max_retries sends)."""
        return self._config.max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds one call may take in all, retries and waits included (None: no limit)."""
        return self._config.deadline

    @property
    def max_retry_wait(self) -> float:
        """The longest wait asked for by the server that the client sleeps before retrying."""
        return self._config.max_retry_wait

    @property
    def max_response_bytes(self) -> int:
        """The largest answer read into memory; a larger one raises `ResponseTooLargeError`."""
        return self._config.max_response_bytes

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit the API reported last (shared with `with_options` copies), or None
        before the first answer."""
        return self._gate.last

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_retry_wait: float | None = None,
        max_response_bytes: int | None = None,
    ) -> Self:
        """A client with other options that shares this one's connection pool and rate limit.

        Cheap enough to call per request: `client.with_options(max_retries=0).projects.get(id)`.
        Closing the copy does not close the shared pool; closing the original does.

        Args:
            timeout: Seconds, or an `httpx.Timeout`, for each attempt; None keeps this client's.
            max_retries: How many times a failed request may be retried; None keeps this
                client's.
            deadline: Seconds one call may take in all; `None` lifts the deadline, and leaving
                it out keeps this client's.
            max_retry_wait: The longest server-requested wait that is slept; None keeps this
                client's.
            max_response_bytes: The largest answer read into memory; None keeps this client's.
        """
        clone = type(self).__new__(type(self))
        config = self._config.replace(
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            max_retry_wait=max_retry_wait,
            max_response_bytes=max_response_bytes,
        )
        clone._init(
            config,
            self._http,
            owns_http=False,
            channel=self._channel,
            clock=self._clock,
            gate=self._gate,
            owns_gate=False,
            event_loop=self._event_loop,
            slots=self._slots,
        )
        return clone

    def _deadline(self, call: Call[Any]) -> Deadline:
        config = self._config
        # The default deadline bounds a file transfer's time without progress, not its length:
        # a large file on a healthy connection must arrive (docs/retries.md, "Deadlines").
        renewed = call.transfers_file and not config.deadline_set
        return Deadline(config.deadline, self._clock, renewed_by_progress=renewed)

    def _retry_policy(self, call: Call[Any], deadline: Deadline) -> dict[str, Any]:
        return retry_policy(
            call,
            max_retries=self._config.max_retries,
            max_retry_wait=self._config.max_retry_wait,
            deadline=deadline,
            base_path=self._config.base_url.raw_path.decode("ascii"),
        )

    def _admission(self, deadline: Deadline) -> Admission:
        return Admission(max_wait=self._config.max_retry_wait, deadline=deadline, clock=self._clock)

    def _request(self, call: Call[Any], deadline: Deadline) -> httpx.Request:
        if self._http.is_closed:
            raise CraftError(f"This {type(self).__name__} is closed; create a new client.")
        timeout = deadline.cap(self._config.timeout)
        if timeout is None:
            raise deadline_error(
                self._channel.describe_call(call),
                deadline,
                "before it could be sent",
                may_have_succeeded=False,
            )
        return self._channel.request(call, timeout, deadline)

    def _received(
        self, call: Call[Any], response: httpx.Response, deadline: Deadline
    ) -> tuple[Download | None, dict[str, str]]:
        """What follows an answer's arrival, before its body is read: where the body goes (a
        download, or None for memory), the headers the SDK reads, and the body bounded by the
        deadline and, unless it streams to a download, by `max_response_bytes`."""
        head = read_head(response)
        download = call.download_for(response)
        # A download streams to disk, so its size is the caller's business, not memory's.
        limit = None if download else self._config.max_response_bytes
        bound_by(deadline, response, head, to_file=download is not None, max_bytes=limit)
        return download, head

    def _finish(self, call: Call[T], response: httpx.Response, sent_at: float) -> T:
        elapsed = self._clock.monotonic() - sent_at
        log_response(response, elapsed)
        record_response(response, elapsed)  # for with_response; one lookup when not recording
        return call.parse(response)

    def __repr__(self) -> str:
        config: ClientConfig | None = getattr(self, "_config", None)
        if config is None:  # construction failed; a traceback that shows locals still asks
            return f"{type(self).__name__}(<not constructed>)"
        return (
            f"{type(self).__name__}(base_url={str(config.base_url)!r}, "
            f"max_retries={config.max_retries})"
        )


@public
class CraftClient(_BaseClient[httpx.Client]):
    """The Craft API client.

    ```python
    from craft_sdk import CraftClient

    with CraftClient() as client:  # the key from CRAFT_API_KEY
        project = client.projects.create(name="My Landing Page", template="landing-page")
    ```

    Args:
        api_key: Your API key (or an OAuth access token). Defaults to `CRAFT_API_KEY`.
        base_url: Defaults to `CRAFT_BASE_URL`, else `https://api.craft.fast/v1`. Must be
            https, except for a loopback host.
        timeout: Seconds, or an `httpx.Timeout`, for each attempt. Defaults to 60 s (5 s to
            connect).
        max_retries: How many times a failed request may be retried. Defaults to 3.
        default_headers: Extra headers for every request.
        http_client: Your own `httpx.Client` (for proxies, certificates, transports). The
            client uses it as it is (its timeout too, unless `timeout` is given), never closes
            it, and never follows its redirects.
        deadline: Seconds one call may take in all: attempts, waits and reading the answer.
            Defaults to 300; `None` for no limit.
        max_retry_wait: The longest wait asked for by the server (`Retry-After`, a rate-limit
            reset) that the client sleeps before retrying; a longer one raises `RateLimitError`
            at once. Defaults to 60.
        max_response_bytes: The largest answer read into memory, counted after decompression;
            a larger one raises `ResponseTooLargeError`. Defaults to 10 MiB. `files.download`
            streams to disk and is not limited.
        clock: Where the client reads the time and sleeps; tests pass
            `craft_sdk.testing.FakeClock()` so that no wait for a time is real.
        rate_limit_store: Where the rate-limit budget is kept, for a key that several
            processes share: `craft_sdk.redis.RedisRateLimitStore`. Without it, each client
            keeps its own (shared with its `with_options` copies, threads and tasks).

    Attributes:
        projects: List, create, read, update, archive and delete projects
            (`client.projects.get("proj_abc123")`).
        files: List, read, write, download and delete a project's files.
        deployments: Start, list, read, cancel and wait for deployments.
        oauth: Trade OAuth codes and refresh tokens for tokens.

    Besides those: `me()`, `request()` for an endpoint the SDK does not model yet,
    `with_response()` for the answers behind a result, and `with_options()`.

    Safe to share between threads; close it (or use `with`) to release its connections.
    """

    projects: Projects
    """List, create, read, update, archive and delete projects."""
    files: Files
    """List, read, write, download and delete a project's files."""
    deployments: Deployments
    """Start, list, read, cancel and wait for deployments."""
    oauth: OAuth
    """Trade OAuth codes and refresh tokens for tokens."""
    _http_class = httpx.Client

    def __init__(
        self,
        *,
        api_key: ApiKey | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_retry_wait: float | None = None,
        max_response_bytes: int | None = None,
        clock: Clock | None = None,
        rate_limit_store: RateLimitStore | None = None,
    ) -> None:
        self._setup(
            http_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            deadline=deadline,
            max_retry_wait=max_retry_wait,
            max_response_bytes=max_response_bytes,
            clock=clock,
            rate_limit_store=rate_limit_store,
        )

    def _init(self, config: ClientConfig, http: httpx.Client, **shared: Any) -> None:
        super()._init(config, http, **shared)
        sender = SyncSender(self._send, self._paginate, self._run, self._clock)
        self.projects = Projects(sender)
        self.files = Files(sender)
        self.deployments = Deployments(sender)
        self.oauth = OAuth(sender)

    def me(self) -> User:
        """The user the API key belongs to.

        Raises:
            AuthenticationError: The key is missing, wrong or revoked.
        """
        return self._send(me())

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: object = None,
        content: FileContent | None = None,
    ) -> Any:
        """Send one request to an endpoint the SDK does not model yet.

        It goes the way every other call goes: with the key, retried by the same method rules
        (a POST or PATCH is never sent twice after it may have been processed), within the rate
        limit and the call's deadline, and its failures raised as the same typed errors. For
        example `request("GET", "/projects/proj_abc123/webhooks", params={"limit": 10})`.

        Args:
            method: "GET", "POST", "PUT", "PATCH" or "DELETE" (any case).
            path: The path under the base URL, starting with "/", such as "/projects". Each
                segment is percent-encoded where it must be (escapes already in it are kept);
                empty, "." and ".." segments, a query and a fragment are refused.
            params: The query, as a mapping of names to str, int, float or bool values.
            json: A JSON body (anything `json.dumps` takes), sent as `application/json`.
            content: A raw body instead, as `files.write` takes it (str, bytes, a path or a
                binary file object, streamed).

        Returns:
            The envelope's `data` for an answer in the `{success, data}` envelope; any other
            JSON answer as decoded; bytes for an answer that is not JSON; None for an empty one.

        Raises:
            APIError: The API answered with an error (its subclass by status, as for every
                call).
            ValueError: `method` is not one of the five, `path` is refused, or both `json` and
                `content` were given, before anything is sent (`TypeError` for a value of the
                wrong type, such as a `json` that cannot be serialised).
        """
        return self._send(raw_call(method, path, params=params, json=json, content=content))

    def request_list(
        self,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        max_items: int | None = None,
    ) -> SyncPage[CraftModel]:
        """Every object of a list endpoint the SDK does not model yet, page by page.

        Pages are fetched as the iteration needs them, like those of `projects.list`, through
        the same key, retries, rate limit and typed errors, and with the same guards: iteration
        stops with `CraftError` rather than loop when the API serves a page that does not
        advance. For example `request_list("/projects/proj_abc123/webhooks")`.

        Args:
            path: The list's path under the base URL, starting with "/" (as for `request`).
            params: The query, as a mapping of names to str, int, float or bool values; its
                `page` (from 1) is where to start, its `limit` the page size.
            max_items: Stop after this many objects; None for all.

        Returns:
            The first page, fetched at once; iterate it for every object of every page. Each
            object is a bare `craft_sdk.models.CraftModel`: `to_dict()` gives it back as sent,
            and its fields are (untyped) attributes under their wire names (`item.createdAt`).

        Raises:
            ValueError: `path` is refused, before anything is sent (`TypeError` for a value of
                the wrong type).
        """
        return self._paginate(raw_list_call(path, params=params), max_items)

    def with_response(
        self, method: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> WithResponse[T]:
        """Call one of this client's methods and return its result with the answers behind it:
        their status, headers, request id and rate limit. For example
        `with_response(client.projects.get, "proj_abc123")`, whose `.data` is the project and
        `.response.request_id` its request id.

        Args:
            method: A method of this client or of its resources, such as
                `client.projects.get` or `client.request`.
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Returns:
            `.data`, the method's result; `.response`, the answer it was read from; and
            `.responses`, every answer it read, in order (more than one after a retry, or for
            a method that reads several pages or polls).

        Raises:
            CraftError: The method read no answer from the API. Any error the method raises is
                raised as it is.
        """
        with recording_responses() as recorded:
            data = method(*args, **kwargs)
        return with_responses(data, recorded)

    def _send(self, call: Call[T]) -> T:
        deadline = self._deadline(call)
        try:
            return self._attempt(call, deadline)
        except CraftError as error:
            first_error = error  # outside the except block, so later errors do not chain to it
        return self._retry(call, deadline, first_error)

    def _retry(self, call: Call[T], deadline: Deadline, first_error: CraftError) -> T:
        """Send `call` again for as long as the retry policy allows.

        The first attempt ran without tenacity (most calls succeed at once, and setting up a
        `Retrying` costs as much as the rest of the SDK's work on a request); its error is
        handed to tenacity as the outcome of tenacity's own first attempt.
        """
        from tenacity import Retrying

        replay = [first_error]  # raised once, inside tenacity's first attempt
        for attempt in Retrying(sleep=self._clock.sleep, **self._retry_policy(call, deadline)):
            with attempt, recording_attempt(attempt.retry_state.attempt_number, deadline):
                if replay:
                    raise replay.pop()
                return self._attempt(call, deadline)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _admit(self, deadline: Deadline) -> Lease:
        """Wait until the rate limit lets a request go; `_gate.release` gives its place back."""
        admission = self._admission(deadline)
        while not isinstance(admitted := self._gate.acquire(admission), Lease):
            admission.sleeper(admitted).sleep(admitted.seconds)
        return admitted

    def _attempt(self, call: Call[T], deadline: Deadline) -> T:
        lease = self._admit(deadline)
        response: httpx.Response | None = None
        head: dict[str, str] | None = None
        try:
            request = self._request(call, deadline)
            with (
                self._slots.for_thread(request),
                transport_errors(request, authenticated=call.authenticated),
            ):
                sent_at = self._clock.monotonic()
                response = self._channel.send(request, call)
                download, head = self._received(call, response, deadline)
                if download:
                    download.consume(response.iter_bytes(), expected_size(response))
                else:
                    read_body(response, self._config.max_response_bytes)
        finally:
            # With what the answer, if any, said about the limit.
            self._gate.release(lease, head, None if response is None else response.status_code)
        assert response is not None  # None only when the try block raised
        return self._finish(call, response, sent_at)

    def _run(self, flow: Flow[T]) -> T:
        """Drive an operation of several requests (see _flow.py)."""
        answer: Any = None
        try:
            while True:
                step = flow.send(answer)
                if isinstance(step, Sleep):
                    self._clock.sleep(step.seconds)
                    answer = None
                elif isinstance(step, Many):
                    answer = self._settle_many(step.calls, step.concurrency, step.on_progress)
                elif isinstance(step, Local):
                    answer = step.work()
                else:
                    answer = self._send(step)
        except StopIteration as finished:
            return cast(T, finished.value)
        finally:
            flow.close()

    def _settle_many(
        self,
        calls: Mapping[str, Call[T]],
        concurrency: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> Batch[T]:
        """Send calls on up to `concurrency` threads; see _batch.py for what happens when."""
        # Imported here, not at the top: most programs never write files in batches.
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        batch = Batch(calls, on_progress)
        running: dict[Future[T], str] = {}
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="craft") as pool:
            while True:
                while len(running) < concurrency and (item := batch.next()):
                    key, call = item
                    # In the caller's context, as a task would be (a with_response sees it).
                    running[pool.submit(copy_context().run, self._send, call)] = key
                if not running:
                    return batch
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    batch.settle(running.pop(future), future)

    def _paginate(self, call: Call[PageData[M]], max_items: int | None) -> SyncPage[M]:
        max_items = check_max_items(max_items)  # before anything is sent
        return SyncPage(self._send, call, self._send(call), max_items=max_items)

    def close(self) -> None:
        """Release the connection pool (unless it came from `http_client` or `with_options`)."""
        if self._owns_http:
            self._http.close()
        if self._owns_gate:
            self._gate.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@public
class AsyncCraftClient(_BaseClient[httpx.AsyncClient]):
    """The Craft API client for asyncio: the same surface as `CraftClient`, awaited.

    ```python
    from craft_sdk import AsyncCraftClient

    async with AsyncCraftClient() as client:  # the key from CRAFT_API_KEY
        project = await client.projects.get("proj_abc123")
    ```

    Args:
        api_key: Your API key (or an OAuth access token). Defaults to `CRAFT_API_KEY`.
        base_url: Defaults to `CRAFT_BASE_URL`, else `https://api.craft.fast/v1`. Must be
            https, except for a loopback host.
        timeout: Seconds, or an `httpx.Timeout`, for each attempt. Defaults to 60 s (5 s to
            connect).
        max_retries: How many times a failed request may be retried. Defaults to 3.
        default_headers: Extra headers for every request.
        http_client: Your own `httpx.AsyncClient` (for proxies, certificates, transports). The
            client uses it as it is (its timeout too, unless `timeout` is given), never closes
            it, and never follows its redirects.
        deadline: Seconds one call may take in all: attempts, waits and reading the answer.
            Defaults to 300; `None` for no limit.
        max_retry_wait: The longest wait asked for by the server (`Retry-After`, a rate-limit
            reset) that the client sleeps before retrying; a longer one raises `RateLimitError`
            at once. Defaults to 60.
        max_response_bytes: The largest answer read into memory, counted after decompression;
            a larger one raises `ResponseTooLargeError`. Defaults to 10 MiB. `files.download`
            streams to disk and is not limited.
        clock: Where the client reads the time and sleeps; tests pass
            `craft_sdk.testing.FakeClock()` so that no wait for a time is real.
        rate_limit_store: Where the rate-limit budget is kept, for a key that several
            processes share: `craft_sdk.redis.RedisRateLimitStore`. Without it, each client
            keeps its own (shared with its `with_options` copies, threads and tasks).

    Attributes:
        projects: List, create, read, update, archive and delete projects
            (`await client.projects.get("proj_abc123")`).
        files: List, read, write, download and delete a project's files.
        deployments: Start, list, read, cancel and wait for deployments.
        oauth: Trade OAuth codes and refresh tokens for tokens.

    Besides those: `me()`, `request()` for an endpoint the SDK does not model yet,
    `with_response()` for the answers behind a result, and `with_options()`.

    Safe to share between the tasks of one event loop; close it (or use `async with`) to release
    its connections.
    """

    projects: AsyncProjects
    """List, create, read, update, archive and delete projects."""
    files: AsyncFiles
    """List, read, write, download and delete a project's files."""
    deployments: AsyncDeployments
    """Start, list, read, cancel and wait for deployments."""
    oauth: AsyncOAuth
    """Trade OAuth codes and refresh tokens for tokens."""
    _http_class = httpx.AsyncClient

    def __init__(
        self,
        *,
        api_key: ApiKey | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_retry_wait: float | None = None,
        max_response_bytes: int | None = None,
        clock: Clock | None = None,
        rate_limit_store: RateLimitStore | None = None,
    ) -> None:
        self._setup(
            http_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            deadline=deadline,
            max_retry_wait=max_retry_wait,
            max_response_bytes=max_response_bytes,
            clock=clock,
            rate_limit_store=rate_limit_store,
        )

    def _init(self, config: ClientConfig, http: httpx.AsyncClient, **shared: Any) -> None:
        super()._init(config, http, **shared)
        sender = AsyncSender(self._send, self._paginate, self._run, self._clock)
        self.projects = AsyncProjects(sender)
        self.files = AsyncFiles(sender)
        self.deployments = AsyncDeployments(sender)
        self.oauth = AsyncOAuth(sender)

    async def me(self) -> User:
        """The user the API key belongs to.

        Raises:
            AuthenticationError: The key is missing, wrong or revoked.
        """
        return await self._send(me())

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: object = None,
        content: FileContent | None = None,
    ) -> Any:
        """Send one request to an endpoint the SDK does not model yet.

        It goes the way every other call goes: with the key, retried by the same method rules
        (a POST or PATCH is never sent twice after it may have been processed), within the rate
        limit and the call's deadline, and its failures raised as the same typed errors. For
        example `request("GET", "/projects/proj_abc123/webhooks", params={"limit": 10})`.

        Args:
            method: "GET", "POST", "PUT", "PATCH" or "DELETE" (any case).
            path: The path under the base URL, starting with "/", such as "/projects". Each
                segment is percent-encoded where it must be (escapes already in it are kept);
                empty, "." and ".." segments, a query and a fragment are refused.
            params: The query, as a mapping of names to str, int, float or bool values.
            json: A JSON body (anything `json.dumps` takes), sent as `application/json`.
            content: A raw body instead, as `files.write` takes it (str, bytes, a path or a
                binary file object, streamed).

        Returns:
            The envelope's `data` for an answer in the `{success, data}` envelope; any other
            JSON answer as decoded; bytes for an answer that is not JSON; None for an empty one.

        Raises:
            APIError: The API answered with an error (its subclass by status, as for every
                call).
            ValueError: `method` is not one of the five, `path` is refused, or both `json` and
                `content` were given, before anything is sent (`TypeError` for a value of the
                wrong type, such as a `json` that cannot be serialised).
        """
        return await self._send(raw_call(method, path, params=params, json=json, content=content))

    def request_list(
        self,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        max_items: int | None = None,
    ) -> AsyncPaginator[CraftModel]:
        """Every object of a list endpoint the SDK does not model yet, page by page.

        Pages are fetched as the iteration needs them, like those of `projects.list`, through
        the same key, retries, rate limit and typed errors, and with the same guards: iteration
        stops with `CraftError` rather than loop when the API serves a page that does not
        advance. For example `request_list("/projects/proj_abc123/webhooks")`.

        Args:
            path: The list's path under the base URL, starting with "/" (as for `request`).
            params: The query, as a mapping of names to str, int, float or bool values; its
                `page` (from 1) is where to start, its `limit` the page size.
            max_items: Stop after this many objects; None for all.

        Returns:
            An `AsyncPaginator`, at once: `await` it for the first page, or `async for` it for
            every object of every page (nothing is sent until then). Each object is a bare
            `craft_sdk.models.CraftModel`: `to_dict()` gives it back as sent, and its fields
            are (untyped) attributes under their wire names (`item.createdAt`).

        Raises:
            ValueError: `path` is refused, before anything is sent (`TypeError` for a value of
                the wrong type).
        """
        return self._paginate(raw_list_call(path, params=params), max_items)

    async def with_response(
        self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> WithResponse[T]:
        """Call one of this client's methods and return its result with the answers behind it:
        their status, headers, request id and rate limit. For example
        `with_response(client.projects.get, "proj_abc123")`, whose `.data` is the project and
        `.response.request_id` its request id.

        Args:
            method: A method of this client or of its resources, such as
                `client.projects.get` or `client.request`.
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Returns:
            `.data`, the method's result; `.response`, the answer it was read from; and
            `.responses`, every answer it read, in order (more than one after a retry, or for
            a method that reads several pages or polls).

        Raises:
            CraftError: The method read no answer from the API. Any error the method raises is
                raised as it is.
        """
        with recording_responses() as recorded:
            data = await method(*args, **kwargs)
        return with_responses(data, recorded)

    async def _send(self, call: Call[T]) -> T:
        self._event_loop.check(type(self).__name__)
        deadline = self._deadline(call)
        try:
            return await self._attempt(call, deadline)
        except CraftError as error:
            first_error = error  # outside the except block, so later errors do not chain to it
        return await self._retry(call, deadline, first_error)

    async def _retry(self, call: Call[T], deadline: Deadline, first_error: CraftError) -> T:
        """Send `call` again for as long as the retry policy allows (see `CraftClient._retry`)."""
        from tenacity import AsyncRetrying

        replay = [first_error]  # raised once, inside tenacity's first attempt
        retrying = AsyncRetrying(sleep=self._clock.asleep, **self._retry_policy(call, deadline))
        async for attempt in retrying:
            with attempt, recording_attempt(attempt.retry_state.attempt_number, deadline):
                if replay:
                    raise replay.pop()
                return await self._attempt(call, deadline)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _admit(self, deadline: Deadline) -> Lease:
        """Wait until the rate limit lets a request go (see `CraftClient._admit`)."""
        admission = self._admission(deadline)
        while not isinstance(admitted := await self._gate.aacquire(admission), Lease):
            await admission.sleeper(admitted).asleep(admitted.seconds)
        return admitted

    async def _attempt(self, call: Call[T], deadline: Deadline) -> T:
        lease = await self._admit(deadline)
        response: httpx.Response | None = None
        head: dict[str, str] | None = None
        try:
            request = self._request(call, deadline)
            async with self._slots.for_task(request):
                with transport_errors(request, authenticated=call.authenticated):
                    sent_at = self._clock.monotonic()
                    response = await self._channel.asend(request, call)
                    download, head = self._received(call, response, deadline)
                    if download:
                        await download.aconsume(response.aiter_bytes(), expected_size(response))
                    else:
                        await aread_body(response, self._config.max_response_bytes)
        finally:
            status = None if response is None else response.status_code
            await self._gate.arelease(lease, head, status)
        assert response is not None  # None only when the try block raised
        return self._finish(call, response, sent_at)

    async def _run(self, flow: Flow[T]) -> T:
        """Drive an operation of several requests (see _flow.py)."""
        answer: Any = None
        try:
            while True:
                step = flow.send(answer)
                if isinstance(step, Sleep):
                    await self._clock.asleep(step.seconds)
                    answer = None
                elif isinstance(step, Many):
                    answer = await self._settle_many(step.calls, step.concurrency, step.on_progress)
                elif isinstance(step, Local):
                    import asyncio  # loaded already in an async program

                    # In a worker thread: walking or hashing a folder would hold the loop up.
                    answer = await asyncio.to_thread(step.work)
                else:
                    answer = await self._send(step)
        except StopIteration as finished:
            return cast(T, finished.value)
        finally:
            flow.close()

    async def _settle_many(
        self,
        calls: Mapping[str, Call[T]],
        concurrency: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> Batch[T]:
        """Send calls as up to `concurrency` tasks; see _batch.py for what happens when."""
        import asyncio  # only async programs need it, and they have it loaded already

        batch = Batch(calls, on_progress)
        running: dict[asyncio.Task[T], str] = {}
        try:
            while True:
                while len(running) < concurrency and (item := batch.next()):
                    key, call = item
                    running[asyncio.ensure_future(self._send(call))] = key
                if not running:
                    return batch
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    batch.settle(running.pop(task), task)
        finally:
            for task in running:  # only when cancelled: do not leave writes running unseen
                task.cancel()

    def _paginate(self, call: Call[PageData[M]], max_items: int | None) -> AsyncPaginator[M]:
        return AsyncPaginator(self._send, call, max_items=check_max_items(max_items))

    async def aclose(self) -> None:
        """Release the connection pool (unless it came from `http_client` or `with_options`).

        Raises:
            WrongEventLoopError: Called on an event loop other than the one the client ran on:
                its connections can only be closed there (close it before that loop ends).
        """
        if self._owns_http:
            self._event_loop.check(type(self).__name__)
            await self._http.aclose()
        if self._owns_gate:
            await self._gate.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
