"""A request body limit that counts bytes as they arrive, so a chunked body (no Content-Length) is
bounded too, and answers in the server's own format.

    app.add_middleware(BodyLimit, max_bytes=1 << 20)

A declared Content-Length over the limit is refused before any byte is read; otherwise the bytes are
counted as the app reads them and the read that crosses the limit raises `BodyTooLarge`, a 413 the
app's exception handlers answer like any other HTTP error.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body exceeds --max-body-bytes {max_bytes}")


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            body = json.dumps({"error": BodyTooLarge(self.max_bytes).detail}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
