"""The Jinja2 environment for frontend/templates (autoescaped: all output is escaped)."""

from __future__ import annotations

from fastapi.templating import Jinja2Templates

from collection.config import PROJECT_ROOT
from collection.web.i18n import template_lang, template_translate

FRONTEND_DIR = PROJECT_ROOT / "frontend"
templates = Jinja2Templates(directory=str(FRONTEND_DIR / "templates"))


def _csrf_token(request: object) -> str:
    from collection.web.csrf import csrf_token

    return csrf_token(request)  # type: ignore[arg-type]


templates.env.globals["csrf_token"] = _csrf_token
templates.env.globals["_"] = template_translate
templates.env.globals["page_lang"] = template_lang
