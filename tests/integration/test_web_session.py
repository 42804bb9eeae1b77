"""Browser sessions: the refresh token lives in an httpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import httpx

from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import LiveServer


def refresh_cookie(response: httpx.Response) -> str:
    header = response.headers["set-cookie"]
    assert header.startswith("sealchat_refresh=")
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/api/auth" in lowered
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_cookie_session_signs_in_refreshes_and_signs_out(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        signed_up = await http.post(
            "/api/auth/register",
            json={"username": unique_name(), "password": PASSWORD, "session": "cookie"},
        )
        assert signed_up.status_code == 201
        assert signed_up.json()["refresh_token"] is None  # not readable by script
        first = refresh_cookie(signed_up)

        refreshed = await http.post("/api/auth/refresh", json={})
        assert refreshed.status_code == 200
        assert refreshed.json()["access_token"] and refreshed.json()["kms_access_token"]
        second = refresh_cookie(refreshed)
        assert second != first

        # Within the grace the cookie just spent comes back (a reload during the refresh):
        # the session goes on, and the answer it never saw (`second`) is spent instead.
        http.cookies.clear()
        http.cookies.set("sealchat_refresh", first, path="/api/auth")
        again = await http.post("/api/auth/refresh", json={})
        assert again.status_code == 200
        third = refresh_cookie(again)
        assert third not in (first, second)
        fourth = refresh_cookie(await http.post("/api/auth/refresh", json={}))

        # Once its successor was used, the old cookie is a replay: the family is revoked.
        for replayed in (first, fourth):
            http.cookies.clear()
            http.cookies.set("sealchat_refresh", replayed, path="/api/auth")
            assert (await http.post("/api/auth/refresh", json={})).status_code == 401

        logged_in = await http.post(
            "/api/auth/login",
            json={
                "username": signed_up.json()["user"]["username"],
                "password": PASSWORD,
                "session": "cookie",
            },
        )
        refresh_cookie(logged_in)
        out = await http.post("/api/auth/logout", json={})
        assert out.status_code == 204
        assert "sealchat_refresh=" in out.headers["set-cookie"]
        http.cookies.clear()
        assert (await http.post("/api/auth/refresh", json={})).status_code == 401
