"""Every error craft-sdk raises.

Our exception hierarchy:

* CraftError                         anything craft-sdk raises about the API or its configuration
                                     (arguments it refuses raise ValueError or TypeError)
  + APIError                         the API answered, and the answer is an error
  | + BadRequestError                400            (in a 2xx saying "success": false: INVALID_*)
  | + AuthenticationError            401                                          (UNAUTHORIZED)
  | + PermissionDeniedError          403                                             (FORBIDDEN)
  | + NotFoundError                  404                                           (*_NOT_FOUND)
  | + ConflictError                  409
  | + UnprocessableEntityError       422
  | + RateLimitError                 429, with .retry_after                (RATE_LIMIT_EXCEEDED)
  | + InternalServerError            5xx
  + APIConnectionError               no usable answer: the connection failed or broke
  | + APITimeoutError                ...because a timeout ran out
  + APIResponseValidationError       an answer came, but it is not what the API promises
  + ResponseTooLargeError            an answer larger than max_response_bytes (not read into memory)
  + WrongEventLoopError              an AsyncCraftClient used from a second event loop
  + WriteManyError                   files.write_many: some files were not written (and which)
  + DeploymentFailedError            deployments.wait: the deployment failed
  + WaitTimeoutError                 deployments.wait: no final status in time (also TimeoutError)
  + WebhookVerificationError         construct_event: do not act on this delivery (answer 400)
    + WebhookSignatureMissingError   no X-Craft-Signature
    + WebhookSignatureMismatchError  a signature none of the secrets made (or not one at all)
    + WebhookTimestampError          signed timestamp outside the tolerance (or missing)
    + WebhookPayloadError            verified, but not a webhook body

Which class an error response becomes is decided in one place, `error_class()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._types import public

if TYPE_CHECKING:
    import pydantic

    from ._folders.report import SyncReport
    from ._http import httpx
    from .models import Deployment

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CraftError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "DeploymentFailedError",
    "FolderSyncError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "WebhookPayloadError",
    "WebhookSignatureMismatchError",
    "WebhookSignatureMissingError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "WriteManyError",
    "WrongEventLoopError",
]


def error_chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then the errors it was raised from or while handling, each once."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def validation_problems(error: pydantic.ValidationError) -> list[tuple[str, str]]:
    """Where a value does not fit a model and what is wrong there, as (field path, problem)
    pairs, such as `("data.changes", "Input should be a valid list")`: never the values, which
    may be private."""
    return [
        (".".join(map(str, problem["loc"])) or "<data>", problem["msg"])
        for problem in error.errors(include_url=False, include_input=False)
    ]


def summarised(problems: Sequence[tuple[str, str]], shown: int = 3) -> str:
    """The first `shown` problems on one line: `a: ...; b: ... (and 2 more)`."""
    text = "; ".join(f"{path}: {problem}" for path, problem in problems[:shown])
    more = len(problems) - shown
    return text + (f" (and {more} more)" if more > 0 else "")


def _restore(cls: type[CraftError], args: tuple[Any, ...], state: dict[str, Any]) -> CraftError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


@public
class CraftError(Exception):
    """The base of every error craft-sdk raises: catch this to catch them all."""

    attempts: int = 1
    """How many times the request was sent before this error was raised (retries included)."""
    elapsed: float | None = None
    """Seconds the call had taken when this error was raised, every attempt and wait included;
    None for an error that no call raised (a refused setting, say)."""

    def __str__(self) -> str:
        return super().__str__() + self._retries_note()

    def _retries_note(self) -> str:
        """`" (after 4 attempts in 3.2 s)"` for an error raised after retries, else nothing:
        a 0.5 s timeout that took 3.2 s in all is explained by its message."""
        if self.attempts <= 1:
            return ""
        took = "" if self.elapsed is None else f" in {self.elapsed:.1f} s"
        return f" (after {self.attempts} attempts{took})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat the default pickling of exceptions, which calls
        # cls(*args); rebuilding from the instance's state works for every subclass.
        return (_restore, (type(self), self.args, self.__dict__.copy()))


@public
class APIError(CraftError):
    """The API answered with an error: a non-2xx status, or a body that says `"success": false`."""

    status_code: int
    """The HTTP status of the answer: the 2xx status itself when a 2xx body said
    `"success": false`, and 429 for a `RateLimitError` the client raised without sending."""
    code: str | None
    """The API's error code from the envelope's `error.code`, such as `PROJECT_NOT_FOUND` (from
    the OAuth token endpoint, its `error`, such as `invalid_grant`), when it sent one."""
    message: str
    """The API's explanation (`error.message`, or the OAuth endpoint's `error_description`), or
    a description of the status when the body had none."""
    details: Mapping[str, Any] | None
    """The envelope's `error.details`, when it is an object."""
    request_id: str | None
    """The id the server gave this request, from the first of the `X-Request-Id`, `Request-Id`
    and `X-Craft-Request-Id` headers it sent; quote it to Craft support. None when it sent none."""
    body: object
    """The decoded JSON body if it was valid JSON, else the body as text (None when empty, or
    when nothing was sent)."""
    response: httpx.Response | None
    """The HTTP response, its body already read; its request carries no credentials. None for a
    `RateLimitError` the client raised without sending."""
    may_have_succeeded: bool
    """True for a 5xx or a 408: the API (or a proxy in front of it) may have acted on the
    request before failing, so check before redoing a write. False for every other status (other
    4xx, 3xx, and a 2xx whose body says `"success": false`): the API refused the request
    without acting on it."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        body: object = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = details
        self.request_id = request_id
        self.body = body
        self.response = response
        # The same statuses that _retry.py will not repeat for a POST or PATCH.
        self.may_have_succeeded = status_code >= 500 or status_code == 408

    def __str__(self) -> str:
        # One line that answers "what happened and what do I tell support":
        #   404 PROJECT_NOT_FOUND: Project not found (request_id: req_123)
        head = f"{self.status_code} {self.code}" if self.code else str(self.status_code)
        tail = f" (request_id: {self.request_id})" if self.request_id else ""
        # The message is the server's text: fold its line breaks so that a log line stays one.
        return f"{head}: {' '.join(self.message.split())}{tail}{self._retries_note()}"


@public
class BadRequestError(APIError):
    """400: the request was malformed or a parameter is invalid."""


@public
class AuthenticationError(APIError):
    """401: the API key or access token is missing, wrong or revoked."""


@public
class PermissionDeniedError(APIError):
    """403: the key is valid but may not do this (or a plan limit was reached)."""


@public
class NotFoundError(APIError):
    """404: no such project, file or deployment, or it belongs to someone else."""


@public
class ConflictError(APIError):
    """409: the request conflicts with the current state of the resource."""


@public
class UnprocessableEntityError(APIError):
    """422: the request was well-formed but its values were refused."""


@public
class RateLimitError(APIError):
    """429: too many requests for this key; wait `retry_after` seconds before the next.

    Also raised for a 2xx whose body says `"success": false` with the code
    `RATE_LIMIT_EXCEEDED`, and by the client itself, without sending, when the last answer said
    the rate limit is spent and its reset is further off than `max_retry_wait` or the call's
    deadline (then `response` is None). The client retries a 429 itself when `retry_after` is
    at most `max_retry_wait`; you see this error once the retries or the deadline ran out.

    Args:
        message: The explanation, as for `APIError`.
        retry_after: Seconds to wait before sending again, or None.
        **kwargs: The keyword arguments of `APIError`.
    """

    retry_after: float | None
    """Seconds to wait before sending again, or None when the answer gave no usable hint.

    From an answer: the longest of `Retry-After` (seconds or an HTTP date),
    `X-RateLimit-RetryAfter` (seconds) and the body's `error.retryAfter` (seconds); without any
    of them, the time until `X-RateLimit-Reset`. Dates are measured on the server's clock (its
    `Date` header) when it sent one. Raised by the client before sending: the time until the
    rate-limit window resets."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


@public
class InternalServerError(APIError):
    """5xx: the API failed; the request may or may not have taken effect."""


@public
class APIConnectionError(CraftError):
    """No usable answer arrived: the connection could not be made, or broke off.

    `__cause__` is the underlying httpx exception, when there was one.
    """

    message: str
    """What failed, such as `POST /v1/projects failed: ConnectError: ...`."""
    may_have_succeeded: bool
    """False when the request provably never reached the server (it could not connect); True
    when it may have been received and acted on before the connection failed."""

    def __init__(
        self,
        message: str = "Connection to the Craft API failed.",
        *,
        may_have_succeeded: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.may_have_succeeded = may_have_succeeded


@public
class APITimeoutError(APIConnectionError):
    """A timeout ran out before the answer was complete: an httpx timeout of one attempt, or
    the call's `deadline`. `may_have_succeeded` is False when the request was never sent (a
    connect or pool timeout, or a deadline that ran out before the attempt), True otherwise."""

    def __init__(
        self,
        message: str = "The request to the Craft API timed out.",
        *,
        may_have_succeeded: bool = True,
    ) -> None:
        super().__init__(message, may_have_succeeded=may_have_succeeded)


@public
class APIResponseValidationError(CraftError):
    """A 2xx answer came, but it is not what the API promises: not JSON, not the envelope, or
    data that does not fit the model. The request itself most likely took effect. Not retried."""

    message: str
    """What was wrong, such as `The API's answer does not fit Project: id: Field required`
    (values are never included)."""
    response: httpx.Response
    """The HTTP response, its body already read."""
    status_code: int
    """The HTTP status of the answer (a 2xx)."""
    body: object
    """The decoded JSON body, or its text when it was not JSON (None when empty or not kept)."""
    may_have_succeeded: bool
    """Always True: the API answered 2xx, so whatever was asked was most likely done."""

    def __init__(self, message: str, *, response: httpx.Response, body: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.status_code = response.status_code
        self.body = body
        # The API answered 2xx, so whatever was asked was most likely done.
        self.may_have_succeeded = True


@public
class ResponseTooLargeError(CraftError):
    """The answer is larger than the client's `max_response_bytes`, so it was not read into
    memory (the count is of the decoded body, so a small compressed answer that expands past the
    limit stops here too). It is not retried: the same request would get the same answer."""

    limit: int
    """The `max_response_bytes` the answer went past."""
    status_code: int
    """The HTTP status of the answer."""
    may_have_succeeded: bool
    """Always True: the API answered, so it may have acted on the request."""

    def __init__(self, *, limit: int, status_code: int) -> None:
        super().__init__(
            f"The API's answer (status {status_code}) is larger than max_response_bytes "
            f"({limit:,} bytes), so it was not read. Raise max_response_bytes on the client, "
            "or stream large files to disk with files.download."
        )
        self.limit = limit
        self.status_code = status_code
        self.may_have_succeeded = True


@public
class WrongEventLoopError(CraftError, RuntimeError):
    """An `AsyncCraftClient` was used from an event loop other than the one it first ran on.

    Its connections belong to that first loop; once the loop is closed they cannot be used or
    even closed (the error httpx would give is "Event loop is closed"). Make one client per event
    loop, for example with `async with AsyncCraftClient() as client:` inside the coroutine that
    `asyncio.run` runs."""


@public
class WriteManyError(CraftError):
    """Some files of a `write_many` were not written. Nothing is lost silently: every path is in
    exactly one of `written`, `failed` and `not_attempted`."""

    written: list[str]
    """Paths written, in the order they finished."""
    failed: dict[str, BaseException]
    """Paths whose write failed, with the error each raised."""
    not_attempted: list[str]
    """Paths not sent, because the batch stopped at the first failure."""

    def __init__(
        self,
        *,
        written: list[str],
        failed: dict[str, BaseException],
        not_attempted: list[str],
    ) -> None:
        first_path, first_error = next(iter(failed.items()))
        super().__init__(
            f"{len(failed)} of {len(written) + len(failed) + len(not_attempted)} files failed "
            f"({len(written)} written, {len(not_attempted)} not attempted); first: "
            f"{first_path}: {first_error}"
        )
        self.written = written
        self.failed = failed
        self.not_attempted = not_attempted


@public
class FolderSyncError(CraftError):
    """A folder sync did not finish: some files failed, and the rest were not attempted. A sync
    deletes nothing until every transfer succeeded. Running the same call again resumes (what
    was done is in the state file)."""

    report: SyncReport
    """What was done, what failed (with each error) and what was not attempted."""

    def __init__(self, report: SyncReport) -> None:
        first_path, first_error = next(iter(report.failed.items()))
        super().__init__(
            f"Folder {report.direction} failed for {len(report.failed)} files "
            f"({len(report.sent)} {report.direction}ed, {len(report.deleted)} deleted, "
            f"{len(report.not_attempted)} not attempted); run it again to resume. First: "
            f"{first_path}: {first_error}"
        )
        self.report = report


@public
class DeploymentFailedError(CraftError):
    """`deployments.wait` saw the deployment end as `failed`."""

    deployment: Deployment
    """The failed deployment; its `error` says why, when the API said."""

    def __init__(self, deployment: Deployment) -> None:
        reason = f": {deployment.error}" if deployment.error else ""
        super().__init__(f"Deployment {deployment.id} failed{reason}")
        self.deployment = deployment


@public
class WaitTimeoutError(CraftError, TimeoutError):
    """`deployments.wait` ran out of time before the deployment reached a final status.

    Also a built-in `TimeoutError`.

    Args:
        deployment: The last state of the deployment seen.
        timeout: The `timeout` of the wait, in seconds (only used in the message).
    """

    deployment: Deployment
    """The last state of the deployment seen."""

    def __init__(self, deployment: Deployment, timeout: float) -> None:
        super().__init__(
            f"Deployment {deployment.id} was still {deployment.status!r} after {timeout:g} s"
        )
        self.deployment = deployment


@public
class WebhookVerificationError(CraftError):
    """A webhook delivery failed verification: do not act on it, and answer 400. The message
    never repeats the body, the signature or the secret."""


@public
class WebhookSignatureMissingError(WebhookVerificationError):
    """The delivery has no `X-Craft-Signature` header (or an empty one)."""


@public
class WebhookSignatureMismatchError(WebhookVerificationError):
    """The signature is not one any of the secrets makes for this body (or is malformed)."""


@public
class WebhookTimestampError(WebhookVerificationError):
    """The body's signed `timestamp` is older, or further ahead, than the tolerance allows (or
    is missing, when a tolerance was asked for).

    Args:
        message: What was wrong with the timestamp.
        age: Seconds from the timestamp to now, or None when the body had no timestamp.
    """

    age: float | None
    """Seconds from the timestamp to now: positive when old, negative when in the future; None
    when the body had no timestamp."""

    def __init__(self, message: str, *, age: float | None) -> None:
        super().__init__(message)
        self.age = age


@public
class WebhookPayloadError(WebhookVerificationError):
    """The body is signed correctly but is not a webhook event: it is not JSON, it is not an
    object with an `event` name, or its shape does not fit the event it names (then `errors`
    says where, and the message names the first few problems).

    Args:
        message: What is wrong with the body.
        errors: Where the body does not fit its event, as (field path, problem) pairs.
    """

    errors: list[tuple[str, str]]
    """Where the body does not fit its event, as (field path, problem) pairs, such as
    `("data.changes", "Input should be a valid list")`; empty when the body is not JSON or names
    no event. The values in the body are never repeated: they may be private."""

    def __init__(self, message: str, *, errors: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


_ERROR_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

# Codes the API documents (see craft-api.md, "Error codes"); used only when the status does not
# decide, as for a 2xx whose body says "success": false.
_ERROR_BY_CODE: dict[str, type[APIError]] = {
    "UNAUTHORIZED": AuthenticationError,
    "FORBIDDEN": PermissionDeniedError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
}


def error_class(status_code: int, code: str | None) -> type[APIError]:
    """The error class for an answer: by status when the status is an error we know; for a 2xx
    whose body says `"success": false`, by the envelope's code; else the plain `APIError` (which
    still carries the code)."""
    if status_code in _ERROR_BY_STATUS:
        return _ERROR_BY_STATUS[status_code]
    if 500 <= status_code <= 599:
        return InternalServerError
    if not 200 <= status_code <= 299 or code is None:
        return APIError
    if code in _ERROR_BY_CODE:
        return _ERROR_BY_CODE[code]
    if code.endswith("_NOT_FOUND"):
        return NotFoundError
    if code.startswith("INVALID_"):
        return BadRequestError
    return APIError
