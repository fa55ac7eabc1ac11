"""The names a ```python block of README.md or docs/ may use without defining them.

A block reads as a continuation of its page: `client.files.list("proj_abc123")` does not show how
`client` was made. tests/test_docs.py checks and runs every block as if it began with
`from tests.docs_context import *`. pyright sees the names declared below, with their types; a
block that runs gets, for each, the value `bind` gives it. Everything else a block uses, it
imports itself. To let blocks use one more name, declare it here and bind it in `bind`.

A block runs against `seeded_emulator()`: the Craft emulator holding what the docs take for
granted (project `proj_abc123` and its files), served on 127.0.0.1 and named by CRAFT_BASE_URL and
CRAFT_API_KEY, so that the block's own `CraftClient()` reaches it too. Its working directory holds
`LOCAL_FILES`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping

import httpx

from craft_sdk import AsyncCraftClient, CraftClient, Token
from craft_sdk.testing import CraftEmulator

__all__ = [
    "async_client",
    "client",
    "code",
    "new_secret",
    "old_secret",
    "raw_body",
    "request",
    "secret",
    "token",
]

# Declared, not assigned: `bind` gives each its value for one run of one block.
client: CraftClient
"""`CraftClient()`."""
async_client: AsyncCraftClient
"""`AsyncCraftClient()`."""
secret: str
"""The OAuth app's client secret, and the webhook secret: the docs use the one name for both."""
code: str
"""An authorization code, as the OAuth callback received it (not exchanged yet)."""
token: Token
"""The user's tokens, from a code already exchanged."""
raw_body: bytes
"""A webhook delivery's body, as it arrived: a `build.failed` event signed with `secret`."""
request: WebRequest
"""The web framework's request that brought `raw_body`."""
new_secret: str
"""While a webhook secret is rotated: the new one (`secret`, which signed `raw_body`)."""
old_secret: str
"""While a webhook secret is rotated: the old one."""


@dataclasses.dataclass(frozen=True)
class WebRequest:
    """A web framework's request, as much of it as the docs use."""

    headers: Mapping[str, str]


SECRET = "whsec_docs"
DOCS_PROJECT_ID = "proj_abc123"
DOCS_FILES: Mapping[str, bytes] = {
    "src/app/page.tsx": b"export default function Page() { return <h1>Hi</h1> }\n",
    "src/old.tsx": b"export const old = true\n",
    "big.bin": bytes(range(256)) * 1024,
}
"""The files of `proj_abc123` that the docs read, delete or download."""
LOCAL_FILES: Mapping[str, bytes] = {
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "dist/index.html": b"<h1>Built</h1>\n",
    "dist/assets/app.js": b"console.log('built')\n",
}
"""The files on the reader's disk that the docs upload, in the working directory."""


def seeded_emulator() -> CraftEmulator:
    """A fresh emulator holding `proj_abc123` and its `DOCS_FILES`."""
    emulator = CraftEmulator()
    # The first project gets the id the docs use (the emulator offers no way to choose ids).
    account = emulator._account  # pyright: ignore[reportPrivateUsage]
    new_id = account._new_id  # pyright: ignore[reportPrivateUsage]

    def docs_id(prefix: str, taken: Mapping[str, object]) -> str:
        return DOCS_PROJECT_ID if prefix == "proj" and not taken else new_id(prefix, taken)

    account._new_id = docs_id  # type: ignore[method-assign]
    with emulator.client() as setup:
        project = setup.projects.create(name="Docs project", template="landing-page")
        setup.files.write_many(project.id, dict(DOCS_FILES))
    return emulator


def bind(emulator: CraftEmulator) -> dict[str, Callable[[], object]]:
    """How to make the value of each name in `__all__`, on `emulator`; made only when a block
    uses the name (a client costs an SSL context). CRAFT_BASE_URL and CRAFT_API_KEY must name the
    emulator already.

    Args:
        emulator: The emulator the block runs against.

    Returns:
        Each name, and what makes its value.
    """
    delivery = functools.cache(lambda: build_failed_delivery(SECRET))
    return {
        "client": CraftClient,
        "async_client": AsyncCraftClient,
        "secret": lambda: SECRET,
        "code": lambda: "code_from_the_callback",
        "token": lambda: exchanged_token(emulator),
        "raw_body": lambda: delivery()[0],
        "request": lambda: WebRequest(headers=httpx.Headers(delivery()[1])),
        "new_secret": lambda: SECRET,
        "old_secret": lambda: "whsec_before_the_rotation",
    }


def exchanged_token(emulator: CraftEmulator) -> Token:
    """A user's tokens, from a code the app exchanged with `emulator` before."""
    with emulator.client() as app:
        return app.oauth.exchange_code(
            code="code_exchanged_before",
            redirect_uri="https://myapp.example/callback",
            client_id="my-client-id",
            client_secret=SECRET,
        )


def build_failed_delivery(secret: str) -> tuple[bytes, dict[str, str]]:
    """A `build.failed` delivery, as an emulator of its own sent it, signed with `secret`."""
    emulator = CraftEmulator()
    deliveries: list[tuple[bytes, dict[str, str]]] = []
    emulator.on_webhook(lambda body, headers: deliveries.append((body, headers)), secret=secret)
    emulator.fail_next_deployment("Type error in page.tsx")
    with emulator.client() as setup:
        project = setup.projects.create(name="Delivers a webhook")
        deployment = setup.deployments.create(project.id)
        setup.deployments.wait(project.id, deployment.id, raise_on_failure=False)
    return deliveries[-1]
