"""Signing out ends the user's live connections (on every node; here the one)."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer


async def test_sign_out_disconnects_every_socket_of_the_user(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        signed_up = (
            await http.post(
                "/api/auth/register", json={"username": "leaving-soon", "password": "x" * 12}
            )
        ).json()
        other = (
            await http.post(
                "/api/auth/login", json={"username": "leaving-soon", "password": "x" * 12}
            )
        ).json()
    sockets = [RawSocket(), RawSocket()]
    for sock in sockets:
        await sock.connect(server.url, signed_up["access_token"])
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            # A token that ends no session disconnects nothing...
            ended = await http.post("/api/auth/logout", json={"refresh_token": "never issued"})
            assert ended.status_code == 204
            await asyncio.sleep(0.2)
            assert all(sock.sio.connected for sock in sockets)
            # ... one that ends a session (another one of the user) disconnects every socket.
            ended = await http.post(
                "/api/auth/logout", json={"refresh_token": other["refresh_token"]}
            )
            assert ended.status_code == 204
        async with asyncio.timeout(5):
            while any(sock.sio.connected for sock in sockets):
                await asyncio.sleep(0.05)
    finally:
        for sock in sockets:
            await sock.close()
