"""`collection harvest add | run | list`: OAI-PMH sources harvested in, from the command line.
Progress goes to stderr after each part of a source's list."""

from __future__ import annotations

from typing import Annotated

import typer

from collection.config import get_settings

harvest_app = typer.Typer(help="OAI-PMH sources harvested in (thu hoạch).", no_args_is_help=True)


def _say(message: str) -> None:
    typer.echo(message, err=True)


@harvest_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The source's OAI-PMH base URL.")],
    into: Annotated[str, typer.Option("--into", help="Target collection: id or slug.")],
    set_spec: Annotated[str, typer.Option("--set", help="The set to harvest (all if empty).")] = "",
    prefix: Annotated[str, typer.Option("--prefix", help="metadataPrefix.")] = "oai_dc",
) -> None:
    """Register a source; its records will become published items of the collection."""
    from collection import migrate
    from collection.db import session_scope
    from collection.harvest import service
    from collection.models import Role, User

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        admin = session.query(User).filter(User.role == Role.ADMIN).order_by(User.id).first()
        actor = admin or service.harvester(0)
        source = service.add_source(
            session=session,
            actor=actor,
            url=url,
            collection=into,
            set_spec=set_spec,
            metadata_prefix=prefix,
        )
        source_id = source.id
    typer.echo(source_id)
    _say(f"Đã thêm nguồn {source_id} / source added: collection harvest run {source_id}")


@harvest_app.command("run")
def run(
    source_id: Annotated[int | None, typer.Argument(help="The source to harvest.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Harvest every source.")] = False,
) -> None:
    """Harvest a source (or all) now, resuming where an interrupted run stopped."""
    from collection import migrate
    from collection.db import session_factory, session_scope
    from collection.harvest import runner, service

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    if (source_id is None) == (not every):
        _say("Lỗi / error: cho một mã nguồn hoặc --all / give a SOURCE_ID or --all")
        raise typer.Exit(2)
    if every:
        with session_scope(settings.sqlalchemy_url) as session:
            ids = [s.id for s in service.list_sources(session=session)]
    else:
        assert source_id is not None
        ids = [source_id]
    sessions = session_factory(settings.sqlalchemy_url)
    failed = 0
    for one in ids:
        ended = runner.run_source(
            one, settings=settings, sessions=sessions, on_progress=lambda p: _say(p.line())
        )
        counts = (
            f"{ended.created} tạo mới, {ended.updated} cập nhật, {ended.unchanged} không đổi, "
            f"{ended.withdrawn} rút, {ended.failed} lỗi"
        )
        if ended.status == "done":
            _say(f"Nguồn {one}: xong / done — {ended.records} bản ghi: {counts}.")
        else:
            failed += 1
            _say(f"Nguồn {one}: lỗi / failed — {ended.error} ({counts})")
    if failed:
        raise typer.Exit(1)


@harvest_app.command("list")
def list_() -> None:
    """The sources, their last run and error."""
    from collection import migrate
    from collection.db import session_scope
    from collection.harvest import service
    from collection.harvest.routes import views

    settings = get_settings()
    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        shown = views(session, service.list_sources(session=session))
    for s in shown:
        run = s.last_run
        state = "chưa chạy" if run is None else f"{run.status} {run.started_at:%Y-%m-%d %H:%M}"
        counts = (
            "" if run is None else f" +{run.created} ~{run.updated} -{run.withdrawn} !{run.failed}"
        )
        typer.echo(
            f"{s.id}\t{s.url}\t{s.set_spec or '*'}\t→ {s.collection_title}\t{state}{counts}"
            f"\tfrom {s.last_datestamp or '—'}"
            + (f"\t{run.error}" if run is not None and run.error else "")
        )
