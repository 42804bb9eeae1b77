"""The key service's HTTP API under ``/kms``: thin handlers over ``KmsService``.

Errors are domain errors, turned into ``{"error": {"code", "message"}}`` by the app's
error handlers; ``install_kms_error_handlers`` adds the one KMS-specific status
(400 for ``invalid_ciphertext``, as AWS KMS answers).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from sealchat import metrics
from sealchat.api.errors import error_body, validation_message
from sealchat.domain.errors import SealchatError
from sealchat.kms.errors import InvalidCiphertext
from sealchat.kms.models import Caller, KmsDataKey, MasterKey, Operation
from sealchat.kms.service import KmsService

NO_STORE = {"Cache-Control": "no-store"}

_bearer = HTTPBearer(auto_error=False, description="An access token for the key service")


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    token = credentials.credentials if credentials is not None else None
    return Caller(token=token, source=request.client.host if request.client else None)


def _raw_caller(request: Request) -> Caller:
    """The caller of a request whose parameters did not validate (no dependency ran)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return Caller(token=bearer, source=request.client.host if request.client else None)


# The audited operation of each route, by the name of its handler.
ROUTE_OPERATIONS = {
    "generate_data_key": Operation.GENERATE_DATA_KEY,
    "decrypt": Operation.DECRYPT,
    "list_keys": Operation.LIST_KEYS,
    "describe_key": Operation.DESCRIBE_KEY,
    "create_key": Operation.CREATE_KEY,
    "rotate_key": Operation.ROTATE_KEY,
    "revoke_room_access": Operation.REVOKE,
}


def audited_route_class(service: KmsService) -> type[APIRoute]:
    """Routes whose malformed requests (answered 422 before any handler runs) are
    refusals like any other: audited, within the caller's audit budget."""

    class AuditedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            operation = ROUTE_OPERATIONS.get(self.name)
            if operation is None:
                return handler

            async def audited(request: Request) -> Response:
                calls = metrics.KMS_REQUESTS
                try:
                    response = await handler(request)
                except RequestValidationError as exc:
                    calls.labels(operation.value, "invalid_input").inc()
                    message = validation_message(exc)
                    await service.refuse_invalid_request(_raw_caller(request), operation, message)
                    raise
                except SealchatError as exc:
                    calls.labels(operation.value, exc.code).inc()
                    raise
                calls.labels(operation.value, "ok").inc()
                return response

            return audited

    return AuditedRoute


CallerDep = Annotated[Caller, Depends(caller)]
Context = Annotated[dict[str, str], Field(default_factory=dict)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateDataKeyIn(Strict):
    key_id: str | None = Field(default=None, max_length=128)
    encryption_context: Context
    grant: str | None = Field(default=None, max_length=8192)


class RevocationIn(Strict):
    revocation: str = Field(min_length=1, max_length=8192)


class DecryptIn(Strict):
    ciphertext_blob: str = Field(max_length=4096, description="base64")
    key_id: str | None = Field(
        default=None, max_length=256, description="If given, the blob must be of this key"
    )
    encryption_context: Context
    grant: str | None = Field(default=None, max_length=8192)


class CreateKeyIn(Strict):
    key_id: str = Field(max_length=128)
    description: str = Field(default="", max_length=1024)


class DataKeyOut(BaseModel):
    key_id: str
    key_version: int
    plaintext: str
    ciphertext_blob: str | None = None


class KeyVersionOut(BaseModel):
    version: int
    created_at: datetime


class KeyOut(BaseModel):
    key_id: str
    description: str
    created_at: datetime
    current_version: int
    versions: list[KeyVersionOut] | None = None


class KeyListOut(BaseModel):
    keys: list[KeyOut]


class RotatedOut(BaseModel):
    key_id: str
    current_version: int


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _data_key_out(data_key: KmsDataKey, *, with_blob: bool) -> DataKeyOut:
    return DataKeyOut(
        key_id=data_key.key_id,
        key_version=data_key.key_version,
        plaintext=_b64(data_key.plaintext),
        ciphertext_blob=_b64(data_key.ciphertext_blob) if with_blob else None,
    )


def _key_out(key: MasterKey, *, with_versions: bool = False) -> KeyOut:
    versions = [KeyVersionOut(version=v.version, created_at=v.created_at) for v in key.versions]
    return KeyOut(
        key_id=key.key_id,
        description=key.description,
        created_at=key.created_at,
        current_version=key.current_version,
        versions=versions if with_versions else None,
    )


def _blob_bytes(text: str) -> bytes:
    # Undecodable text is refused as an invalid blob like any other: after
    # authentication, and with an audit entry.
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: not ASCII
        return b""


def build_kms_router(service: KmsService) -> APIRouter:
    router = APIRouter(
        prefix="/kms", tags=["key service"], route_class=audited_route_class(service)
    )

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/revocations", status_code=204)
    async def revoke_room_access(body: RevocationIn, who: CallerDep) -> Response:
        """The chat server ended a membership: grants issued before it stop working."""
        await service.revoke_room_access(body.revocation, source=who.source)
        return Response(status_code=204)

    @router.post("/generate-data-key", response_model_exclude_none=True)
    async def generate_data_key(
        body: GenerateDataKeyIn, who: CallerDep, response: Response
    ) -> DataKeyOut:
        key_id = body.key_id or service.default_key_id
        operation = Operation.GENERATE_DATA_KEY
        actor = await service.authenticate(who, operation, key_id, body.encryption_context)
        data_key = await service.generate_data_key(
            actor, key_id, body.encryption_context, body.grant
        )
        response.headers.update(NO_STORE)
        return _data_key_out(data_key, with_blob=True)

    @router.post("/decrypt", response_model_exclude_none=True)
    async def decrypt(body: DecryptIn, who: CallerDep, response: Response) -> DataKeyOut:
        actor = await service.authenticate(who, Operation.DECRYPT, None, body.encryption_context)
        blob = _blob_bytes(body.ciphertext_blob)
        context, grant = body.encryption_context, body.grant
        data_key = await service.decrypt(actor, blob, context, grant, expected_key_id=body.key_id)
        response.headers.update(NO_STORE)
        return _data_key_out(data_key, with_blob=False)

    @router.get("/keys", response_model_exclude_none=True)
    async def list_keys(who: CallerDep) -> KeyListOut:
        await service.authenticate(who, Operation.LIST_KEYS)
        return KeyListOut(keys=[_key_out(key) for key in await service.list_keys()])

    @router.get("/keys/{key_id:path}", response_model_exclude_none=True)
    async def describe_key(key_id: str, who: CallerDep) -> KeyOut:
        await service.authenticate(who, Operation.DESCRIBE_KEY, key_id)
        return _key_out(await service.describe_key(key_id), with_versions=True)

    @router.post("/keys", status_code=201, response_model_exclude_none=True)
    async def create_key(body: CreateKeyIn, who: CallerDep) -> KeyOut:
        actor = await service.authenticate(who, Operation.CREATE_KEY, body.key_id)
        return _key_out(await service.create_key(actor, body.key_id, body.description))

    @router.post("/keys/{key_id:path}/rotate")
    async def rotate_key(key_id: str, who: CallerDep) -> RotatedOut:
        actor = await service.authenticate(who, Operation.ROTATE_KEY, key_id)
        version = await service.rotate_key(actor, key_id)
        return RotatedOut(key_id=key_id, current_version=version)

    return router


def install_kms_error_handlers(app: FastAPI) -> None:
    """400 for ``invalid_ciphertext`` (``install_error_handlers`` maps its base class to 422)."""

    async def on_invalid_ciphertext(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidCiphertext)
        return JSONResponse(error_body(exc.code, exc.message), status_code=400)

    app.add_exception_handler(InvalidCiphertext, on_invalid_ciphertext)
