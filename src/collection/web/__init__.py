"""Server-rendered pages (Jinja2 templates in frontend/)."""
