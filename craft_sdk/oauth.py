"""OAuth for apps acting on behalf of Craft users.

1. Send the user to `authorization_url(...)`; keep the `state` it returns.
2. Craft redirects back to your `redirect_uri` with `code` and `state`; check the state.
3. `client.oauth.exchange_code(...)` trades the code for a `Token`.
4. `CraftClient(api_key=token.access_token)` acts as the user; `client.oauth.refresh_token(...)`
   renews the token, and `api_key` may be a function returning the current one.

An app with no API key of its own makes its token calls with `CraftClient.for_oauth()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple
from urllib.parse import urlencode, urlsplit

from ._checks import check_choice, check_text

AUTHORIZE_URL: Final = "https://craft.fast/oauth/authorize"
"""Craft's authorization page, where `authorization_url` sends the user."""
SCOPES: Final = ("read", "write", "delete", "admin")
"""The scopes an app may ask for."""


class AuthorizationURL(NamedTuple):
    """Where to send the user, and the `state` to expect back with the code."""

    url: str
    """The authorization URL to send the user's browser to."""
    state: str
    """The `state` the URL carries; keep it, and compare it with the `state` Craft sends back."""


def authorization_url(
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str] = ("read", "write"),
    state: str | None = None,
) -> AuthorizationURL:
    """The browser URL that asks a user to let your app act for them.

    Args:
        client_id: Your OAuth app's client id.
        redirect_uri: Where Craft sends the user back with `code` and `state`: an absolute
            http(s) URL, as registered for your app.
        scopes: What the app asks to do, from "read", "write", "delete" and "admin" (at least
            one; repeats are sent once). Defaults to ("read", "write").
        state: The value Craft sends back with the code. Without one, an unguessable one is
            made; compare it with the `state` Craft sends back to your `redirect_uri`, to know
            the answer is to your own request.

    Returns:
        The URL, and the `state` it carries.

    Raises:
        ValueError: An argument is empty, `redirect_uri` is not an absolute http(s) URL, a
            scope is not one of `SCOPES`, or no scope is given.
        TypeError: An argument is not a str, or `scopes` is a single str.
    """
    import secrets  # here: most programs never build an authorization URL

    check_text("client_id", client_id, max_length=None)
    check_text("redirect_uri", redirect_uri, max_length=None)
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"redirect_uri must be an absolute http(s) URL; got {redirect_uri!r}")
    if isinstance(scopes, str):
        raise TypeError('scopes must be a sequence of scopes, such as ("read", "write")')
    chosen = [check_choice("scope", scope, SCOPES) for scope in scopes]
    if not chosen:
        raise ValueError("scopes must name at least one scope")
    state = (
        secrets.token_urlsafe(32) if state is None else check_text("state", state, max_length=None)
    )
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(dict.fromkeys(chosen)),
            "state": state,
        }
    )
    return AuthorizationURL(url=f"{AUTHORIZE_URL}?{query}", state=state)


__all__ = ["AUTHORIZE_URL", "SCOPES", "AuthorizationURL", "authorization_url"]
