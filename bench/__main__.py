"""`make bench`: run every benchmark and print one JSON document."""

from __future__ import annotations

import json
import sys

from bench import (
    backup,
    edits,
    fixity,
    ingest,
    load,
    ocr_quality,
    search,
    storage,
    upload,
    usage,
)


def main() -> None:
    results = {
        "storage": storage.run(),
        "fixity": fixity.run(),
        "backup": backup.run(),
        "ingest": ingest.run(),
        "ocr_quality": ocr_quality.run(),
        "search": search.run(),
        "upload": upload.run(),
        "usage": usage.run(),
        "edits": edits.run(),
        "load": load.run(),
    }
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
