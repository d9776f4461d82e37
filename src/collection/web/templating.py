"""The Jinja2 environment for frontend/templates (autoescaped: all output is escaped)."""

from __future__ import annotations

from fastapi.templating import Jinja2Templates

from collection.config import PROJECT_ROOT

FRONTEND_DIR = PROJECT_ROOT / "frontend"
templates = Jinja2Templates(directory=str(FRONTEND_DIR / "templates"))


def _csrf_token(request: object) -> str:
    from collection.web.csrf import csrf_token

    return csrf_token(request)  # type: ignore[arg-type]


templates.env.globals["csrf_token"] = _csrf_token
