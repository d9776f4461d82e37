"""The README's settings table and the deployment files stay in step with the Settings object."""

from __future__ import annotations

import re

from collection.config import PROJECT_ROOT, Settings

KNOWN = {f"COLLECTION_{name.upper()}" for name in Settings.model_fields}


def test_readme_documents_every_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(COLLECTION_[A-Z0-9_]+)` \|", readme, re.MULTILINE))
    assert documented == KNOWN


def test_deployment_files_use_only_real_settings() -> None:
    for name in ("docker-compose.yml", "Dockerfile"):
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        used = set(re.findall(r"\b(COLLECTION_[A-Z0-9_]+)\s*[:=]", text))
        assert used, name
        assert used <= KNOWN, f"{name} sets unknown settings: {used - KNOWN}"
