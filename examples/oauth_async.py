"""OAuth with asyncio: send a user to Craft's consent page, trade the code Craft sends back for
tokens, act as the user, and refresh the tokens (in a task) before they expire.

    python examples/oauth_async.py

Against the real API: register an OAuth app, open the URL this prints, approve, then run it again
with the `code` Craft added to your redirect URI (codes work once):

    CRAFT_OAUTH_CLIENT_ID=... CRAFT_OAUTH_CLIENT_SECRET=... CRAFT_OAUTH_CODE=... \\
    CRAFT_OAUTH_REDIRECT_URI=https://myapp.example/callback python examples/oauth_async.py

Without CRAFT_OAUTH_CODE, it runs against the Craft emulator from `craft_sdk.testing`, offline.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from craft_sdk import AsyncCraftClient, CraftError, Token
from craft_sdk.oauth import authorization_url

CLIENT_ID = os.environ.get("CRAFT_OAUTH_CLIENT_ID", "app_example")
CLIENT_SECRET = os.environ.get("CRAFT_OAUTH_CLIENT_SECRET", "app_secret_example")
REDIRECT_URI = os.environ.get("CRAFT_OAUTH_REDIRECT_URI", "https://myapp.example/callback")


class UserTokens:
    """A user's tokens. Given as a client's `api_key`, it is called before every request: a plain
    call, not awaited, so it cannot wait for a refresh. When the access token is about to expire
    it starts one in a task, and hands out the current token (still valid for the leeway) until
    the task has put the new one in place."""

    def __init__(self, app: AsyncCraftClient, token: Token) -> None:
        self.app, self.token = app, token
        self._lock = asyncio.Lock()  # one refresh at a time: refresh tokens may be single-use
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        async with self._lock:
            if self.token.refresh_token is None:
                raise CraftError("This token came without a refresh token: ask the user again.")
            self.token = await self.app.oauth.refresh_token(
                refresh_token=self.token.refresh_token,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            )

    def __call__(self) -> str:
        now = datetime.now(timezone.utc)
        if self._task is None and self.token.expired(now, leeway=300):
            self._task = asyncio.create_task(self.refresh())
            self._task.add_done_callback(self._refreshed)
        return self.token.access_token

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if not task.cancelled() and (error := task.exception()) is not None:
            # The old token keeps being used until it expires; the next call tries again.
            print(f"Refreshing the token failed: {error}", file=sys.stderr)

    async def aclose(self) -> None:
        """Let a refresh under way finish (its new refresh token is the one to keep)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


async def run(app: AsyncCraftClient, connect: Callable[..., AsyncCraftClient], code: str) -> None:
    # 1. Send the user to Craft; keep `state` (in their session) to check the answer against.
    auth = authorization_url(CLIENT_ID, REDIRECT_URI, scopes=("read", "write"))
    print(f"Send the user to: {auth.url[:70]}...")

    # 2. Craft sends the user back to REDIRECT_URI?code=...&state=... (your web app receives
    # that request; here it is made up). Refuse a state you did not make.
    query = parse_qs(urlsplit(f"{REDIRECT_URI}?code={code}&state={auth.state}").query)
    if not secrets.compare_digest(query["state"][0], auth.state):
        raise SystemExit("The state does not match: not an answer to our request.")

    # 3. Trade the code for tokens (a repr never shows them).
    token = await app.oauth.exchange_code(
        code=query["code"][0],
        redirect_uri=REDIRECT_URI,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    print(f"Got {token!r}")

    # 4. Act as the user; the client asks `tokens` for the current access token every request.
    tokens = UserTokens(app, token)
    try:
        async with connect(api_key=tokens) as user_client:
            print(f"Acting as {(await user_client.me()).email}")
            await tokens.refresh()  # as happens on its own, in a task, once the token nears expiry
            print(f"Refreshed: the new token expires at {tokens.token.expires_at}")
            print(f"Still acting as {(await user_client.me()).email}")
    finally:
        await tokens.aclose()


async def main() -> int:
    try:
        if code := os.environ.get("CRAFT_OAUTH_CODE"):
            app = AsyncCraftClient.for_oauth()  # no API key of its own: token calls only
            connect: Callable[..., AsyncCraftClient] = AsyncCraftClient
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_OAUTH_CODE is not set: running against the Craft emulator (offline).")
            emulator = CraftEmulator()  # it takes any code, once
            app, connect = emulator.async_client(), emulator.async_client
            code = "code_from_the_redirect"
    except CraftError as error:  # a malformed base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        async with app:
            await run(app, connect, code)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
