"""Security headers on every response that does not set its own: a Content-Security-Policy
without 'unsafe-inline' (our pages have no inline script or style), no MIME sniffing, no
referrer beyond our origin, no framing (the widget frame sets its own frame-ancestors: the
point's sites), and HSTS when the public address is https. Pure ASGI, so streamed downloads
stay streamed."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The one inline style allowed is an empty one, by its hash: OpenSeadragon (the viewer's deep
# zoom) injects a <style> unless it finds an element marked as its own, and site.js puts an
# empty one there (its rule is in site.css).
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
CSP = (
    f"default-src 'self'; script-src 'self'; style-src 'self' {EMPTY_STYLE}; "
    "img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.defaults = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ] + ([(b"strict-transport-security", HSTS.encode())] if https else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.defaults if n not in present]
                if b"content-security-policy" not in present:
                    # A response with its own policy (the widget frame) has its own frame rules.
                    headers += [(b"content-security-policy", CSP.encode())]
                    headers += [(b"x-frame-options", b"DENY")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
