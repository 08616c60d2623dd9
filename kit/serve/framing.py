"""Requests whose length is ambiguous are refused and their connection closed (RFC 9112 section 6.1).

A request with both Transfer-Encoding and Content-Length can be read two ways; when a proxy in front reads
it one way and the server the other, the rest of the bytes become a second, smuggled request. The server
answers 400 with `Connection: close`, so nothing after it on that connection is read.

    app.add_middleware(AmbiguousLength)
"""

from __future__ import annotations

import json


class AmbiguousLength:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            names = {name.lower() for name, _ in scope["headers"]}
            if b"transfer-encoding" in names and b"content-length" in names:
                body = json.dumps({"error": "both Transfer-Encoding and Content-Length: the length is ambiguous"})
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)
