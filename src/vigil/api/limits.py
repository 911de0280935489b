"""Request body limits, enforced while the body streams in (a missing or false
Content-Length does not get past them)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.api.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int, max_upload: int, max_inbox: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_inbox = max_inbox

    def limit_for(self, path: str) -> int:
        if path == "/exchange/inbox":
            return self.max_inbox
        return self.max_upload if path.endswith("/import") else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        problem = f"the request body is larger than the limit of {limit:,} bytes"
        # The inbox answers (and records) an oversized delivery itself, signed.
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit and scope["path"] != "/exchange/inbox":
                await error_response(413, problem)(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            # Raised inside the route's body parsing, the exception becomes the
            # same 413 answer through the service's HTTP error handler.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, problem)
            return message

        await self.app(scope, limited_receive, send)
