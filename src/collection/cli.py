"""The `collection` command: run the stack, its parts, and the staff tasks scripts need."""

from __future__ import annotations

import getpass
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from collection.config import Settings, get_settings
from collection.errors import CollectionError
from collection.harvest.cli import harvest_app

app = typer.Typer(
    help="Kho số Thanh Hóa — the digital local-collection repository.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts.", no_args_is_help=True)
point_app = typer.Typer(
    help="Access points (libraries, post-office culture points).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(point_app, name="point")
places_app = typer.Typer(
    help="The gazetteer of places (before and after 2025).", no_args_is_help=True
)
app.add_typer(places_app, name="places")
stats_app = typer.Typer(help="Usage figures and the yearly report.", no_args_is_help=True)
app.add_typer(stats_app, name="stats")
app.add_typer(harvest_app, name="harvest")
storage_app = typer.Typer(help="The object store (S3): orphans and missing objects.")
app.add_typer(storage_app, name="storage")


def say(message: str) -> None:
    typer.echo(message, err=True)


# --- the whole stack -------------------------------------------------------------------------


@app.command()
def up() -> None:
    """Start everything on this machine: SeaweedFS S3, Meilisearch, the web app and a worker."""
    from collection import bootstrap, stack

    settings = get_settings()
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    children: list[stack.Child] = []
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        say("\nĐang dừng các dịch vụ… / stopping…")
        for child in reversed(children):
            child.stop()
            say(f"  đã dừng {child.name}")

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_all()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if settings.s3_embedded:
            access_key, secret_key = settings.s3_credentials()
            say(f"Khởi động SeaweedFS S3 trên cổng {settings.s3_port}…")
            children.append(
                stack.start_seaweedfs(
                    binary=stack.weed_binary(settings.weed_binary),
                    data_dir=var / "seaweedfs",
                    s3_port=settings.s3_port,
                    internal_ports=stack.weed_ports(settings.weed_port_base),
                    access_key=access_key,
                    secret_key=secret_key,
                    log_path=var / "log" / "seaweedfs.log",
                    timeout=max(settings.startup_timeout, 60),
                )
            )
        if settings.meili_embedded:
            say(f"Khởi động Meilisearch trên cổng {settings.meili_port}…")
            children.append(
                stack.start_meilisearch(
                    binary=settings.meili_binary_path,
                    data_dir=var / "meilisearch",
                    port=settings.meili_port,
                    master_key=settings.meili_key(),
                    log_path=var / "log" / "meilisearch.log",
                    timeout=max(settings.startup_timeout, 60),
                )
            )
        say("Chuẩn bị cơ sở dữ liệu, kho lưu trữ và chỉ mục tìm kiếm…")
        bootstrap.prepare(settings, timeout=max(settings.startup_timeout, 60))
        admin = bootstrap.ensure_first_admin(settings)
        exe = [sys.executable, "-m", "collection.cli"]
        children.append(
            stack.spawn(
                "worker",
                [*exe, "worker"],
                log_path=var / "log" / "worker.log",
                stop_signal=signal.SIGINT,
            )
        )
        children.append(
            stack.spawn(
                "web", [*exe, "serve"], log_path=var / "log" / "web.log", stop_signal=signal.SIGTERM
            )
        )
        web = children[-1]
        stack.wait_until(
            stack.http_ok(f"http://127.0.0.1:{settings.port}/healthz"),
            child=web,
            timeout=max(settings.startup_timeout, 60),
            what="Ứng dụng web",
        )
    except CollectionError:
        stop_all()
        raise

    say("")
    say("  Kho số Thanh Hóa đang chạy / is running")
    say(f"  Địa chỉ / URL:        {settings.base_url}/")
    say(f"  Cán bộ / staff login: {settings.base_url}/login")
    say(f"  E-mail:               {admin.email}")
    if admin.password:
        say(f"  Mật khẩu / password:  {admin.password}")
        say(f"  (lưu tại / kept in {var / 'secrets' / 'first-admin.json'}; đổi sau khi đăng nhập)")
    say(f"  Dữ liệu / data:       {var}    Nhật ký / logs: {var / 'log'}")
    say("  Nhấn Ctrl-C để dừng / press Ctrl-C to stop")
    say("")
    while True:
        for child in children:
            if not child.alive():
                say(
                    f"{child.name} đã dừng bất ngờ (mã {child.process.returncode}):\n{child.log_tail()}"
                )
                stop_all()
                raise typer.Exit(1)
        time.sleep(1)


@app.command()
def init() -> None:
    """Migrate the DB and create the bucket and the search indexes (what a deployment runs once)."""
    from collection import bootstrap

    bootstrap.prepare(get_settings())
    say("Đã sẵn sàng / ready: database, bucket, indexes.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (COLLECTION_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (COLLECTION_PORT).")] = None,
) -> None:
    """Run the web app (uvicorn)."""
    import uvicorn

    from collection import bootstrap

    settings = get_settings()
    bootstrap.check_reachable(settings)
    uvicorn.run(
        "collection.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=settings.web_workers,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
def worker(
    workers: Annotated[int | None, typer.Option(help="Processes (COLLECTION_WORKERS).")] = None,
) -> None:
    """Run the ingest worker (a Huey consumer with one process per core by default)."""
    from collection import bootstrap
    from collection.ingest.tasks import requeue_orphans
    from collection.preservation.tasks import LOCKS_CLEARED_AT_START
    from collection.queue import SEARCH_POLL_S, locks_expire
    from collection.tasks import huey, search_huey

    settings = get_settings()
    bootstrap.check_reachable(settings)
    # Jobs left by a worker that died on this machine resume now, not when their lease expires.
    requeue_orphans(settings)
    # Tesseract must not spread over every core: one OCR process per worker process.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from collection.ingest import sandbox

    sandbox.warm()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
    )
    # Made ready now, not by the first edit's sync: its index checks and settings updates made
    # that edit 0.5 s slower to be found after every restart.
    from collection.search import meili

    meili.try_ready_engine(settings)
    # Threads, not processes: the heavy work of a job already runs in child processes (the
    # parsing sandbox, tesseract runs), and Huey's daemonic process workers may not
    # start children.
    consumer = huey.create_consumer(
        workers=workers or settings.workers,
        worker_type="thread",
        periodic=True,
        # SQLite's task locks cannot expire: the one worker of the machine clears those a
        # crashed run left (on Redis, shared by many machines, they expire instead).
        extra_locks=None if locks_expire(huey) else ",".join(LOCKS_CLEARED_AT_START),
    )
    lane = search_huey.create_consumer(
        workers=1,
        worker_type="thread",
        periodic=False,
        initial_delay=SEARCH_POLL_S,
        backoff=1.0,
        max_delay=SEARCH_POLL_S,
    )
    lane.start()  # its signal handlers give way to the main consumer's, which run() sets
    try:
        consumer.run()
    finally:
        lane.stop(graceful=True)


# --- database, accounts, tokens, index -------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations."""
    from collection import migrate

    migrate.upgrade(get_settings().sqlalchemy_url, revision)
    say("Đã cập nhật cơ sở dữ liệu / database is up to date.")


@user_app.command("create")
def user_create(
    email: str,
    role: Annotated[
        str, typer.Option(help="admin | cataloguer | reporter | point_operator")
    ] = "cataloguer",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    point: Annotated[
        int | None, typer.Option(help="A point operator's access point (its number).")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (asked for, or generated when not a terminal).")
    ] = None,
) -> None:
    """Create a staff account."""
    from collection import migrate
    from collection.accounts import service
    from collection.db import session_scope
    from collection.models import Role

    try:
        chosen = Role(role)
    except ValueError:
        fail(f"Vai trò không hợp lệ: {role}. Chọn admin, cataloguer, reporter hoặc point_operator.")
    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("Mật khẩu / password: ")
        else:
            password, generated = service.generate_password(), True
    with session_scope(settings.sqlalchemy_url) as session:
        user = service.create_user(
            session=session,
            email=email,
            role=chosen,
            password=password,
            display_name=name,
            point_id=point,
        )
        created = user.email
    say(f"Đã tạo tài khoản {created} ({chosen.label}).")
    if generated:
        typer.echo(password)


@point_app.command("create")
def point_create(
    name: str,
    kind: Annotated[str, typer.Option(help="tvcc (public library) | bdvhx (post office)")] = "tvcc",
    level: Annotated[str, typer.Option(help="province | district | commune")] = "commune",
    commune: Annotated[
        str, typer.Option(help="Commune or ward since 07/2025 (name or key, e.g. moi-14797).")
    ] = "",
    district: Annotated[str, typer.Option(help="District before 07/2025 (name or key).")] = "",
    origin: Annotated[
        list[str] | None, typer.Option(help="A site allowed to embed the widget (repeatable).")
    ] = None,
    ip_range: Annotated[
        list[str] | None, typer.Option(help="The point's IP range, CIDR (repeatable).")
    ] = None,
) -> None:
    """Register an access point and print its widget key and the snippets to paste."""
    from collection import migrate
    from collection.db import session_scope
    from collection.models import PointKind, PointLevel
    from collection.points.service import create_point

    try:
        chosen_kind, chosen_level = PointKind(kind), PointLevel(level)
    except ValueError:
        fail("Loại hoặc cấp không hợp lệ: loại tvcc|bdvhx, cấp province|district|commune.")
    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        point = create_point(
            session=session,
            name=name,
            kind=chosen_kind,
            level=chosen_level,
            district=district,
            commune=commune,
            allowed_origins=origin or [],
            ip_ranges=ip_range or [],
        )
        point_id, key = point.id, point.widget_key
    say(f"Đã tạo điểm truy cập số {point_id}: {name}.")
    _print_snippets(settings, key)


@point_app.command("rotate-key")
def point_rotate_key(point_id: int) -> None:
    """Give a point a new widget key (the old one stops working) and print the new snippets."""
    from collection.db import session_scope
    from collection.points.service import rotate_key

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as session:
        key = rotate_key(session=session, point_id=point_id).widget_key
    say(f"Đã đổi khóa của điểm truy cập số {point_id}.")
    _print_snippets(settings, key)


def _print_snippets(settings: Settings, key: str) -> None:
    from collection.points.widget import embed_snippets

    snippets = embed_snippets(base_url=settings.base_url, widget_key=key)
    typer.echo(f"Khóa / key: {key}")
    typer.echo(f"Dán vào trang / paste into the site:\n{snippets.script}")
    typer.echo(f"Hoặc / or, where scripts are not allowed:\n{snippets.iframe}")


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create an API token for a staff account and print it (it is shown only once)."""
    from collection.accounts import service
    from collection.db import session_scope

    with session_scope(get_settings().sqlalchemy_url) as session:
        user = service.get_user_by_email(session=session, email=email)
        token, _ = service.create_api_token(
            session=session, user=user, name=name, expires_days=days
        )
    typer.echo(token)


@app.command("import")
def import_folder(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding the files the sheet names (or the bags).")
    ],
    sheet: Annotated[
        Path | None, typer.Option(help="The sheet (.csv or .xlsx); template in ingest/.")
    ] = None,
    bagit: Annotated[
        bool,
        typer.Option(
            "--bagit",
            help="FOLDER holds bags made by `collection export --bagit` (or is one): "
            "recreate their items.",
        ),
    ] = False,
    email: Annotated[str, typer.Option(help="The staff account the items are created as.")] = "",
    report: Annotated[Path | None, typer.Option(help="Also write the report as CSV here.")] = None,
) -> None:
    """Bulk import: one item per sheet row, its files queued for ingest; or, with --bagit, the
    items of bags `collection export --bagit` wrote (ingested here and now). Safe to run again."""
    from sqlalchemy import select

    from collection.db import session_factory, session_scope
    from collection.ingest import bulk
    from collection.models import Role, User
    from collection.storage import store_for

    settings = get_settings()
    if not folder.is_dir():
        fail(f"Không thấy thư mục {folder}.")
    if bagit:
        _import_bags(settings, folder, email)
        return
    if sheet is None:
        fail("Cần --sheet (bảng kê) hoặc --bagit / --sheet or --bagit is required")
    rows = bulk.read_sheet(sheet)
    with session_scope(settings.sqlalchemy_url) as session:
        query = select(User).where(User.role.in_([Role.ADMIN, Role.CATALOGUER]))
        if email:
            query = select(User).where(User.email == email.strip().lower())
        actor = session.scalars(query.order_by(User.id)).first()
        if actor is None or actor.role not in (Role.ADMIN, Role.CATALOGUER):
            fail("Cần một tài khoản quản trị hoặc biên mục (--email).")
        actor_id = actor.id
    counts = {"created": 0, "duplicate": 0, "failed": 0}
    sessions = session_factory(settings.sqlalchemy_url)
    with typer.progressbar(length=len(rows), label="Nhập / importing", file=sys.stderr) as bar:

        def advance(result: bulk.RowResult) -> None:
            counts[result.status] += 1
            bar.update(1)

        results = bulk.import_rows(
            sessions=sessions,
            actor_id=actor_id,
            settings=settings,
            store=store_for(settings),
            rows=rows,
            root=folder,
            on_row=advance,
        )
    bulk.record_import(sessions, actor_id, sheet.name, results)
    labels = {"created": "đã tạo", "duplicate": "trùng, bỏ qua", "failed": "lỗi"}
    for result in results:
        detail = f"tài liệu {result.item_id}" if result.item_id else result.reason
        typer.echo(
            f"dòng {result.row:>5}  {labels[result.status]:<14} {result.title[:50]:<50} {detail}"
        )
    say(
        f"Tổng cộng: {counts['created']} đã tạo, {counts['duplicate']} trùng (bỏ qua), "
        f"{counts['failed']} lỗi."
    )
    if report:
        bulk.write_report(results, report)
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def reindex() -> None:
    """Rebuild the search indexes (and the vocabulary of suggestions) from the database."""
    from collection.db import session_scope
    from collection.search import meili
    from collection.search.service import rebuild_index

    settings = get_settings()
    started = time.perf_counter()
    with session_scope(settings.sqlalchemy_url) as session:
        counts = rebuild_index(session=session, engine=meili.engine_for(settings))
    say(
        f"Đã dựng lại chỉ mục / reindexed: {counts['items']} tài liệu, {counts['pages']} trang, "
        f"{counts['terms']} từ gợi ý ({time.perf_counter() - started:.1f} s)."
    )


def _import_bags(settings: Settings, folder: Path, email: str) -> None:
    from collection.db import session_factory
    from collection.preservation import bags
    from collection.storage import store_for

    sessions = session_factory(settings.sqlalchemy_url)
    say("Kiểm tra các gói / validating the bags…")
    results = bags.import_bags(
        settings,
        store_for(settings),
        sessions,
        folder,
        actor_id=_cataloguer_id(settings, email),
        progress=say,
    )
    for result in results:
        label = "đã tạo / created" if result.status == "created" else "đã có, bỏ qua / duplicate"
        detail = f", {len(result.jobs)} tệp chờ xử lý" if result.jobs else ""
        typer.echo(f"{result.path.name}\t{label}\ttài liệu {result.item_id}{detail}")
    created = sum(r.status == "created" for r in results)
    say(f"Tổng cộng / total: {created} tạo mới, {len(results) - created} đã có.")


def _cataloguer_id(settings: Settings, email: str) -> int:
    """The account items are created as: ``email``, else the first admin or cataloguer."""
    from sqlalchemy import select

    from collection.db import session_scope
    from collection.models import Role, User

    with session_scope(settings.sqlalchemy_url) as session:
        query = select(User).where(User.role.in_([Role.ADMIN, Role.CATALOGUER]))
        if email:
            query = select(User).where(User.email == email.strip().lower())
        actor = session.scalars(query.order_by(User.id)).first()
        if actor is None or actor.role not in (Role.ADMIN, Role.CATALOGUER):
            fail("Cần một tài khoản quản trị hoặc biên mục (--email).")
        return actor.id


@app.command()
def export(
    bagit: Annotated[
        Path, typer.Option("--bagit", help="Write BagIt 1.0 bags (one per item) into this folder.")
    ],
    item: Annotated[int | None, typer.Option(help="Only this item.", min=1)] = None,
    collection: Annotated[
        int | None, typer.Option(help="Only this collection's items.", min=1)
    ] = None,
) -> None:
    """Export items as BagIt bags: originals, page text, searchable PDF, Dublin Core and JSON,
    SHA-256 manifests. Exits 1 if an item could not be exported."""
    from collection.db import session_factory
    from collection.preservation import bags
    from collection.storage import store_for

    if item is not None and collection is not None:
        fail("--item hoặc --collection, không cả hai / --item or --collection, not both")
    settings = get_settings()
    started = time.perf_counter()
    result = bags.export_items(
        settings,
        store_for(settings),
        session_factory(settings.sqlalchemy_url),
        bagit,
        item_id=item,
        collection_id=collection,
        progress=say,
    )
    say(
        f"Đã xuất / exported {len(result.bags)} gói ({result.bytes / 1024 / 1024:.1f} MB) vào "
        f"{bagit}; {len(result.failed)} lỗi ({time.perf_counter() - started:.1f} s)."
    )
    if result.failed:
        raise typer.Exit(1)


@app.command()
def backup(
    folder: Annotated[Path, typer.Argument(help="The backup folder (kept between runs).")],
) -> None:
    """Back up the database, every object in S3 (with its SHA-256) and the search settings into
    FOLDER. Incremental: objects already there are not copied again. Safe to interrupt: the next
    run completes it."""
    from collection import migrate
    from collection.preservation import backup as backups
    from collection.storage import store_for

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    backups.backup(settings, store_for(settings), folder, progress=say)


@app.command()
def restore(
    folder: Annotated[Path, typer.Argument(help="A folder `collection backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even into an instance that holds data.")
    ] = False,
    last_complete: Annotated[
        bool,
        typer.Option(
            "--last-complete",
            help="The last backup run was interrupted: restore the complete one before it.",
        ),
    ] = False,
) -> None:
    """Restore a backup into this (fresh) instance: replace the database (its accounts replace
    the first admin), put every object back (checksums verified), migrate, reindex."""
    from collection.preservation import backup as backups
    from collection.storage import store_for

    settings = get_settings()
    backups.restore(
        settings,
        store_for(settings),
        folder,
        force=force,
        last_complete=last_complete,
        progress=say,
    )


@places_app.command("sync")
def places_sync() -> None:
    """Load the gazetteer from its packages again and print what changed (after an upgrade)."""
    from collection import migrate
    from collection.db import session_scope
    from collection.places import sources
    from collection.places.sync import ensure_gazetteer

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        report = ensure_gazetteer(session, data=sources.package_data())
    versions = ", ".join(f"{k} {v}" for k, v in sources.installed_versions().items())
    say(f"Danh mục địa danh theo {versions}.")
    for line in report.lines() or ["Không có gì thay đổi / nothing changed."]:
        say(f"  {line}")


@places_app.command("find")
def places_find(text: str) -> None:
    """Look a place up (with or without diacritics) and print its key and where it lies."""
    from collection.db import session_scope
    from collection.places.service import gazetteer

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as session:
        matches = gazetteer(session).lookup(text)
    for match in matches:
        typer.echo(f"{match.place.key}\t{match.hierarchy}")
    if not matches:
        fail(f"không có địa danh «{text}»")


@stats_app.command("rebuild")
def stats_rebuild(
    start: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD.")] = "",
    end: Annotated[
        str, typer.Option("--to", help="Last local day, YYYY-MM-DD (default today).")
    ] = "",
) -> None:
    """Recompute the usage rollups of a date range from the raw events (idempotent)."""
    from datetime import date

    from collection import migrate
    from collection.db import session_scope, utcnow
    from collection.stats import rollup
    from collection.stats.periods import local_day

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    try:
        last = date.fromisoformat(end) if end else local_day(utcnow())
        with session_scope(settings.sqlalchemy_url) as session:
            first = date.fromisoformat(start) if start else rollup.first_event_day(session)
            if first is None:
                say("Chưa có sự kiện sử dụng nào / no usage events yet.")
                return
            if first > last:
                fail(f"--from {first} sau --to {last} / --from is after --to")
            done = rollup.rebuild(session, first, last)
    except ValueError as exc:
        fail(f"ngày không hợp lệ (YYYY-MM-DD) / invalid date: {exc}")
    say(
        f"Đã dựng lại / rebuilt {done.start}..{done.end}: {done.events} sự kiện / events "
        f"({done.seconds:.1f} s, {done.rate:,.0f}/s)."
    )


# --- preservation ----------------------------------------------------------------------------


@app.command()
def fixity(
    everything: Annotated[
        bool, typer.Option("--all", help="Check every stored original now.")
    ] = False,
    due: Annotated[
        bool,
        typer.Option("--due", help="Check those not checked for COLLECTION_FIXITY_DAYS (default)."),
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Check at most this many.", min=1)] = None,
) -> None:
    """Read stored originals back from S3 and compare their SHA-256 with the one recorded at
    ingest. Exits 3 if any is changed or missing (reported, never repaired)."""
    from collection import migrate
    from collection.preservation import fixity as checks
    from collection.storage import store_for

    if everything and due:
        fail("--all hoặc --due, không cả hai / --all or --due, not both")
    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)

    def report(found: checks.Found) -> None:
        if found.outcome != checks.FixityOutcome.OK:
            say(f"  {found.outcome.label}: {found.storage_key}")
            say(f"    ghi khi nhập / recorded {found.expected_sha256}")
            say(f"    đọc được / found        {found.found_sha256 or '(không có / none)'}")

    summary = checks.run(
        settings, store_for(settings), everything=everything, limit=limit, progress=report
    )
    outcomes = summary.outcomes
    say(
        f"Đã kiểm tra / checked {summary.checked} tệp gốc ({summary.bytes_read / 1024 / 1024:.1f}"
        f" MB, {summary.seconds:.1f} s): {outcomes['ok']} nguyên vẹn / ok, "
        f"{outcomes['mismatch']} sai mã / mismatch, {outcomes['missing']} mất / missing."
    )
    if summary.failures:
        raise typer.Exit(3)


@storage_app.command("check")
def storage_check(
    fix: Annotated[
        bool, typer.Option("--fix", help="Remove the orphans (never anything referenced).")
    ] = False,
    grace_hours: Annotated[
        float,
        typer.Option(
            help="Orphans written more recently than this are only listed (an upload or a job "
            "may be writing them).",
            min=0,
        ),
    ] = 24.0,
) -> None:
    """List objects no row references (orphans) and rows whose object is gone (missing); with
    --fix, remove the orphans. Exits 3 if anything is missing."""
    from datetime import timedelta

    from collection import migrate
    from collection.preservation import hygiene
    from collection.storage import store_for

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    result = hygiene.check(
        settings, store_for(settings), fix=fix, grace=timedelta(hours=grace_hours)
    )
    for obj in result.orphans:
        typer.echo(f"orphan\t{obj.key}\t{obj.size}\t{obj.last_modified.isoformat()}")
    for obj in result.young_orphans:
        typer.echo(f"orphan-recent\t{obj.key}\t{obj.size}\t{obj.last_modified.isoformat()}")
    for missing in result.missing:
        typer.echo(f"missing\t{missing.key}\titem {missing.item_id}\t{missing.what}")
    for obj in result.unknown:
        typer.echo(f"unknown\t{obj.key}\t{obj.size}\t{obj.last_modified.isoformat()}")
    say(
        f"{result.objects} đối tượng / objects ({result.bytes / 1024 / 1024:.1f} MB): "
        f"{len(result.orphans)} mồ côi / orphans (+{len(result.young_orphans)} mới ghi / recent), "
        f"{len(result.missing)} mất / missing, {len(result.unknown)} không rõ / unknown."
    )
    if fix:
        say(f"Đã xóa / removed {len(result.removed)} mồ côi / orphans.")
    if result.missing:
        raise typer.Exit(3)


# --- entry point -----------------------------------------------------------------------------


def fail(message: str, code: int = 1) -> NoReturn:
    say(f"Lỗi / error: {message}")
    raise typer.Exit(code)


def main() -> None:
    """Run the CLI; known failures print one clear message, never a traceback."""
    try:
        app()
    except ValidationError as exc:
        say("Cấu hình không hợp lệ / invalid settings:")
        for error in exc.errors():
            name = "COLLECTION_" + "_".join(str(p) for p in error["loc"]).upper()
            say(f"  {name}: {error['msg']}")
        raise SystemExit(2) from None
    except CollectionError as exc:
        say(f"Lỗi / error: {exc.message}")
        if exc.message_en and exc.message_en != exc.message:
            say(f"  {exc.message_en}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
