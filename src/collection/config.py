"""All settings, in one place: environment variables with the COLLECTION_ prefix (or a .env file).

Where a setting names an external service, the service is used as it is; where it is left empty, the
embedded default runs on this machine under ``var_dir`` and its secrets are generated on first use
and kept there, never in code.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository root in a checkout (src/collection/config.py → ../../); the Docker image sets
# COLLECTION_SEARCH_CONFIG_DIR and COLLECTION_VAR_DIR explicitly.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COLLECTION_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        validate_default=True,
    )

    # --- web ---------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the web app.")
    public_url: AnyHttpUrl | None = Field(
        None, description="The URL citizens use; defaults to http://HOST:PORT."
    )
    web_workers: int = Field(
        2,
        ge=1,
        le=64,
        description="uvicorn worker processes for `serve` (bench/load.py chose 2 on 2 cores).",
    )
    secure_cookies: bool | None = Field(
        None, description="Mark cookies Secure; defaults to on when public_url is https."
    )
    session_hours: int = Field(12, ge=1, le=24 * 30, description="Staff login session lifetime.")
    login_max_failures: int = Field(
        5, ge=1, le=100, description="Wrong passwords in a row before login is slowed down."
    )
    widget_searches_per_minute: int = Field(
        120,
        ge=1,
        le=100_000,
        description="Searches one access point's widget key may make a minute (per web worker).",
    )
    searches_per_minute: int = Field(
        240,
        ge=1,
        le=100_000,
        description="Searches one address may make a minute, in bursts of as many (per web "
        "worker); a citizen typing with instant results makes at most about 130.",
    )
    point_searches_per_minute: int = Field(
        1200,
        ge=1,
        le=1_000_000,
        description="The same for an address inside an access point's IP ranges (a room of "
        "public PCs behind one NAT'ed address).",
    )
    logins_per_hour: int = Field(
        60,
        ge=1,
        le=100_000,
        description="Login attempts one address may make an hour, whichever e-mail they name "
        "(per web worker), in bursts of as many.",
    )

    # --- data --------------------------------------------------------------------------------
    var_dir: Path = Field(
        PROJECT_ROOT / "var", description="Where the embedded services keep data."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; defaults to SQLite at var/collection.db."
    )
    queue_url: str | None = Field(
        None,
        description="Huey storage: sqlite:///PATH or redis://HOST:PORT/DB; defaults to SQLite.",
    )
    workers: int = Field(1, ge=1, le=64, description="Ingest worker processes for `worker`/`up`.")
    startup_timeout: float = Field(
        30.0, ge=0, description="Seconds to wait for DB, S3 and Meilisearch when starting."
    )

    # --- object storage (S3) -----------------------------------------------------------------
    s3_endpoint: AnyHttpUrl | None = Field(
        None, description="External S3 endpoint; empty starts SeaweedFS under var/."
    )
    s3_public_endpoint: AnyHttpUrl | None = Field(
        None,
        description="Endpoint used in presigned URLs given to browsers; defaults to s3_endpoint.",
    )
    s3_access_key: str | None = Field(None, description="S3 access key (generated when embedded).")
    s3_secret_key: str | None = Field(None, description="S3 secret key (generated when embedded).")
    s3_region: str = Field("us-east-1", description="S3 region name.")
    s3_bucket: str = Field(
        "kho-so", min_length=3, max_length=63, description="Bucket for all files."
    )
    s3_port: int = Field(8333, ge=1, le=65535, description="Port of the embedded SeaweedFS S3 API.")
    weed_binary: Path | None = Field(None, description="The `weed` binary; defaults to the venv's.")
    weed_port_base: int = Field(
        18300, ge=1, le=65000, description="First of 7 ports SeaweedFS uses internally (embedded)."
    )

    # --- search (Meilisearch) ----------------------------------------------------------------
    meili_url: AnyHttpUrl | None = Field(
        None, description="External Meilisearch; empty starts the binary under var/."
    )
    meili_master_key: str | None = Field(
        None, description="Meilisearch master (or admin) key; generated when embedded."
    )
    meili_binary: Path | None = Field(
        None, description="Meilisearch binary; defaults to var/bin/meilisearch."
    )
    meili_port: int = Field(7700, ge=1, le=65535, description="Port of the embedded Meilisearch.")
    meili_index_prefix: str = Field(
        "kho", pattern=r"^[a-z][a-z0-9_-]{0,30}$", description="Prefix of our index names."
    )
    search_config_dir: Path = Field(
        PROJECT_ROOT / "search", description="Folder with the index settings and synonyms."
    )
    search_cache_entries: int = Field(
        1000,
        ge=0,
        le=100_000,
        description="Search answers each web process keeps (0: no cache); dropped when the "
        "index changes (bench/load.py measures it).",
    )
    search_cache_seconds: float = Field(
        60.0,
        ge=0,
        le=300,
        description="Longest a cached search answer is served; a change to the index drops it "
        "within 0.1 s whatever this says (what it bounds: place names renamed by staff in "
        "the facets).",
    )

    # --- ingest ------------------------------------------------------------------------------
    max_upload_mb: int = Field(2048, ge=1, description="Largest file staff may upload, in MB.")
    upload_chunk_mb: int = Field(
        8, ge=1, le=64, description="Chunk size of resumable uploads from the staff pages, in MB."
    )
    ocr_languages: str = Field(
        "vie", pattern=r"^[a-z_]{3,8}(\+[a-z_]{3,8})*$", description="Default Tesseract languages."
    )
    max_pages: int = Field(10_000, ge=1, description="Most pages one file may have.")
    ocr_dpi: int = Field(
        300,
        ge=100,
        le=600,
        description="Resolution PDF pages with no scanned image are OCRed at; scans are read "
        "at their own.",
    )
    ocr_processes: int = Field(
        0, ge=0, le=64, description="Tesseract processes per job; 0 means one per core."
    )
    ocr_chunk_pages: int = Field(
        16,
        ge=0,
        description="Files with more pages to OCR than this are shared among workers "
        "in chunks of this size; 0 keeps each file on one worker.",
    )
    page_image_px: int = Field(1600, ge=400, le=6000, description="Long side of page images.")
    thumbnail_px: int = Field(300, ge=64, le=1000, description="Long side of thumbnails.")
    tile_source_px: int = Field(
        4000,
        ge=1000,
        le=12000,
        description="Long side of the image that a page's IIIF zoom tiles are cut from "
        "(scans smaller than this keep their own size).",
    )
    parse_timeout: float = Field(
        300.0, ge=1, description="Seconds a file may take to open or render before it fails."
    )
    parse_memory_mb: int = Field(
        2048, ge=256, description="Memory a file's parser may use before it fails, in MB."
    )
    job_lease_seconds: int = Field(
        600, ge=30, description="A running job not heard from this long is given to another worker."
    )

    admin_email: str = Field(
        "admin@localhost", description="E-mail of the first admin, created by `up` on an empty DB."
    )

    # --- OAI-PMH ------------------------------------------------------------------------------
    oai_page_size: int = Field(
        100,
        ge=1,
        le=1000,
        description="Records (or headers) in one OAI-PMH list response before a resumptionToken.",
    )

    harvest_hours: int = Field(
        24,
        ge=0,
        le=24 * 31,
        description="How often the worker harvests each OAI-PMH source again, in hours; 0: only "
        "when asked (CLI, staff page, API).",
    )
    harvest_timeout: float = Field(
        60.0,
        gt=0,
        le=600,
        description="Seconds to wait for an OAI-PMH source to connect or to send more of its "
        "answer before the run stops with an error.",
    )
    harvest_max_response_mb: int = Field(
        64,
        ge=1,
        le=1024,
        description="Largest single answer an OAI-PMH source may send, in MB (one list part, "
        "not the whole harvest).",
    )

    # --- preservation ---------------------------------------------------------------------------
    fixity_days: int = Field(
        14,
        ge=1,
        le=3650,
        description="Every stored original is read back and its SHA-256 checked at least this "
        "often, in days (the worker spreads the checks over the period).",
    )
    fixity_max_mb_per_tick: int = Field(
        2048,
        ge=1,
        description="Most MB the worker's fixity check reads in one 10-minute tick, so it never "
        "floods S3 (one object more if a single object is larger).",
    )
    upload_abandon_hours: int = Field(
        72,
        ge=1,
        description="A resumable upload with no new chunk for this many hours is abandoned: "
        "the worker deletes its chunks (the uploader starts again from the first chunk).",
    )

    # --- usage counting and the yearly report ------------------------------------------------
    public_pc_idle_minutes: int = Field(
        10,
        ge=1,
        le=240,
        description="On a point's shared public PCs, minutes without a click or key before the "
        "page ends the session and goes back to the home page.",
    )
    rollup_minutes: int = Field(
        5, ge=1, le=60, description="How often the worker rolls new usage events up."
    )
    active_min_visits: int = Field(
        1,
        ge=0,
        description="Active point: visits a month must reach (point's own figures or counted here) "
        "for the month to count.",
    )
    active_min_months: int = Field(
        9, ge=1, le=12, description="Active point: months of 12 that must reach active_min_visits."
    )
    silent_drop_percent: int = Field(
        80,
        ge=10,
        le=100,
        description="A point has gone silent in a month whose visits fall this many percent below "
        "the median of its six months before.",
    )
    max_visits_per_computer_day: int = Field(
        24,
        ge=1,
        le=200,
        description="Most visits one public computer can serve in a day: a point's figures above "
        "days open × computers × this are refused.",
    )
    department_tvcc: str = Field(
        "Sở Văn hóa, Thể thao và Du lịch",
        description="Receives the report on public libraries (TVCC).",
    )
    department_bdvhx: str = Field(
        "Sở Khoa học và Công nghệ",
        description="Receives the report on post-office culture points (BĐVHX); Information and "
        "Communications was folded into it in 2025.",
    )

    # --- secrets -----------------------------------------------------------------------------
    secret_key: str | None = Field(
        None, description="Key for hashing visitor ids; generated under var/ when empty."
    )

    @field_validator("database_url", "queue_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = ("sqlite", "postgresql", "redis")
        if value.split(":", 1)[0].split("+", 1)[0] not in known:
            raise ValueError(f"must start with one of {', '.join(k + '://' for k in known)}")
        return value

    # --- derived values ----------------------------------------------------------------------
    @property
    def s3_embedded(self) -> bool:
        return self.s3_endpoint is None

    @property
    def meili_embedded(self) -> bool:
        return self.meili_url is None

    @property
    def base_url(self) -> str:
        return str(self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.base_url.startswith("https://")

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'collection.db'}"

    @property
    def huey_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.var_dir / 'queue.db'}"

    @property
    def s3_endpoint_url(self) -> str:
        return str(self.s3_endpoint or f"http://127.0.0.1:{self.s3_port}").rstrip("/")

    @property
    def s3_presign_endpoint_url(self) -> str:
        return str(self.s3_public_endpoint or self.s3_endpoint_url).rstrip("/")

    def s3_credentials(self) -> tuple[str, str]:
        """The S3 key pair: from settings, or the embedded server's, generated on first use."""
        if self.s3_access_key and self.s3_secret_key:
            return self.s3_access_key, self.s3_secret_key
        path = self.var_dir / "secrets" / "s3.json"
        stored = _read_or_create_json(
            path,
            lambda: {
                "access_key": "KHO" + secrets.token_hex(8).upper(),
                "secret_key": secrets.token_urlsafe(30),
            },
        )
        return stored["access_key"], stored["secret_key"]

    @property
    def meili_endpoint_url(self) -> str:
        return str(self.meili_url or f"http://127.0.0.1:{self.meili_port}").rstrip("/")

    def meili_key(self) -> str:
        """The Meilisearch master key: from settings, or generated on first use under var/."""
        if self.meili_master_key:
            return self.meili_master_key
        path = self.var_dir / "secrets" / "meili.json"
        stored = _read_or_create_json(path, lambda: {"master_key": secrets.token_urlsafe(32)})
        return stored["master_key"]

    def app_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secrets" / "app.json"
        return _read_or_create_json(path, lambda: {"secret_key": secrets.token_urlsafe(48)})[
            "secret_key"
        ]

    @property
    def meili_binary_path(self) -> Path:
        return self.meili_binary or self.var_dir / "bin" / "meilisearch"

    @property
    def index_names(self) -> dict[str, str]:
        return {kind: f"{self.meili_index_prefix}_{kind}" for kind in ("items", "pages", "terms")}


# Secrets files never change while a process runs: read each once, not on every request.
_secrets_read: dict[Path, dict[str, str]] = {}


def _read_or_create_json(path: Path, make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Read a small secrets file, creating it (mode 0600) with ``make()`` when it does not exist."""
    if path in _secrets_read:
        return _secrets_read[path]
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        _secrets_read[path] = data
        return data
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    # Several threads or processes of a fresh instance may create it at once: each writes its
    # own complete temporary file, and the first to link it in place wins (a link never
    # replaces a file); the others read the winner's, so every process keeps the same secret.
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        data = json.loads(path.read_text(encoding="utf-8"))
    finally:
        tmp.unlink()
    _secrets_read[path] = data
    return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
