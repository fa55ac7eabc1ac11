"""`client.oauth`: trade an authorization code or a refresh token for tokens.

`POST /oauth/token` takes the app's credentials in its JSON body, so it is sent without the
client's own key. The reference's example reads the answer unwrapped, so both the bare token
object and the usual envelope are accepted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .._call import Call, api_path
from .._checks import check_text
from .._envelope import (
    decode_json_leniently,
    envelope_of,
    error_from_response,
    read_envelope,
    validate,
)
from .._http import httpx
from .._rate_limit import server_time
from ..models import Token
from ._base import AsyncResource, SyncResource


def _token_call(body: dict[str, str]) -> Call[Token]:
    for name, value in body.items():
        check_text(name, value, max_length=None)
    return Call("POST", api_path("oauth", "token"), parse=_token, json=body, authenticated=False)


def _exchange_code(code: str, redirect_uri: str, client_id: str, client_secret: str) -> Call[Token]:
    return _token_call(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        }
    )


def _refresh_token(refresh_token: str, client_id: str, client_secret: str) -> Call[Token]:
    return _token_call(
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
    )


def _token(response: httpx.Response) -> Token:
    if not response.is_success:
        raise error_from_response(response)
    body = decode_json_leniently(response)
    fields = read_envelope(response, body)["data"] if envelope_of(body) is not None else body
    token = validate(Token, fields, response=response, body=body)
    if token.expires_at is None and token.expires_in is not None:
        # Counted from the server's clock (its Date header) when it sent one.
        issued = server_time(response.headers)
        now = datetime.now(timezone.utc) if issued is None else _utc(issued)
        token.expires_at = now + timedelta(seconds=token.expires_in)
    return token


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


class OAuth(SyncResource):
    """OAuth token calls: `client.oauth`. The browser step is
    `craft_sdk.oauth.authorization_url`."""

    def exchange_code(
        self, *, code: str, redirect_uri: str, client_id: str, client_secret: str
    ) -> Token:
        """Trade the `code` Craft sent to your `redirect_uri` for tokens.

        Sent as `POST /oauth/token` without the client's own key, so a client from
        `for_oauth()` can make it. A POST: retried after a 429 or a failure to connect, but not
        once the request may have reached the API.

        Args:
            code: The `code` query parameter Craft added to your `redirect_uri`.
            redirect_uri: The same `redirect_uri` the authorization URL was made with.
            client_id: Your OAuth app's client id.
            client_secret: Your OAuth app's client secret, sent in the JSON body.

        Returns:
            The tokens; pass `access_token` as a client's `api_key`.

        Raises:
            APIError: The API refused; an OAuth error (`invalid_grant`, for a used or expired
                code) is in `code`, its description in `message`.
            ValueError: An argument is empty (`TypeError` when not a str), before sending.
        """
        return self._send(_exchange_code(code, redirect_uri, client_id, client_secret))

    def refresh_token(self, *, refresh_token: str, client_id: str, client_secret: str) -> Token:
        """Trade a refresh token for new tokens.

        Sent as `POST /oauth/token` without the client's own key, so a client from
        `for_oauth()` can make it. A POST: retried after a 429 or a failure to connect, but not
        once the request may have reached the API.

        Args:
            refresh_token: The `refresh_token` of an earlier `Token`.
            client_id: Your OAuth app's client id.
            client_secret: Your OAuth app's client secret, sent in the JSON body.

        Returns:
            The new tokens.

        Raises:
            APIError: The API refused; an OAuth error (`invalid_grant`, for a revoked or
                expired refresh token) is in `code`, its description in `message`.
            ValueError: An argument is empty (`TypeError` when not a str), before sending.
        """
        return self._send(_refresh_token(refresh_token, client_id, client_secret))


class AsyncOAuth(AsyncResource):
    """OAuth token calls: `client.oauth`. The browser step is
    `craft_sdk.oauth.authorization_url`."""

    async def exchange_code(
        self, *, code: str, redirect_uri: str, client_id: str, client_secret: str
    ) -> Token:
        """Trade the `code` Craft sent to your `redirect_uri` for tokens.

        Sent as `POST /oauth/token` without the client's own key, so a client from
        `for_oauth()` can make it. A POST: retried after a 429 or a failure to connect, but not
        once the request may have reached the API.

        Args:
            code: The `code` query parameter Craft added to your `redirect_uri`.
            redirect_uri: The same `redirect_uri` the authorization URL was made with.
            client_id: Your OAuth app's client id.
            client_secret: Your OAuth app's client secret, sent in the JSON body.

        Returns:
            The tokens; pass `access_token` as a client's `api_key`.

        Raises:
            APIError: The API refused; an OAuth error (`invalid_grant`, for a used or expired
                code) is in `code`, its description in `message`.
            ValueError: An argument is empty (`TypeError` when not a str), before sending.
        """
        return await self._send(_exchange_code(code, redirect_uri, client_id, client_secret))

    async def refresh_token(
        self, *, refresh_token: str, client_id: str, client_secret: str
    ) -> Token:
        """Trade a refresh token for new tokens.

        Sent as `POST /oauth/token` without the client's own key, so a client from
        `for_oauth()` can make it. A POST: retried after a 429 or a failure to connect, but not
        once the request may have reached the API.

        Args:
            refresh_token: The `refresh_token` of an earlier `Token`.
            client_id: Your OAuth app's client id.
            client_secret: Your OAuth app's client secret, sent in the JSON body.

        Returns:
            The new tokens.

        Raises:
            APIError: The API refused; an OAuth error (`invalid_grant`, for a revoked or
                expired refresh token) is in `code`, its description in `message`.
            ValueError: An argument is empty (`TypeError` when not a str), before sending.
        """
        return await self._send(_refresh_token(refresh_token, client_id, client_secret))


__all__ = ["AsyncOAuth", "OAuth"]
