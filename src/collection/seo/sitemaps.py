"""The sitemap index and its parts (sitemaps.org protocol 0.9).

Items are split into parts by id range: part n holds the listed items whose id is in
((n-1)·URLS_PER_SITEMAP, n·URLS_PER_SITEMAP], so no part can exceed the protocol's 50,000 URLs and
an item never moves from one part to another. A part is read as (id, updated_at) rows streamed
from the database, never as ORM objects. Listed means what anyone may find: published, and public
or on-site (whose record is public); drafts, withdrawn and staff-only items never appear.
The site's own pages and the collections that hold listed items are one more part, ``trang``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from collection.catalogue.reading import LISTED
from collection.models import Collection, Item, ItemStatus

URLS_PER_SITEMAP = 50_000  # the protocol's limit per sitemap file; tests lower it
STREAM_ROWS = 2_000  # rows fetched from the database at a time while a part is written
SITE_PART = "trang"
SITE_PAGES = (  # paths of the public site worth a crawler's visit, besides items and collections
    "/",
    "/bo-suu-tap",
    "/duyet",
    "/duyet/dia-danh",
    "/duyet/chu-de",
    "/duyet/thap-nien",
    "/duyet/loai-tai-lieu",
    "/ban-do",
)
_XMLNS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _listed() -> ColumnElement[bool]:
    return (Item.status == ItemStatus.PUBLISHED) & Item.access.in_(LISTED)


def w3c_datetime(moment: datetime) -> str:
    """A W3C Datetime in UTC to the second, as the protocol asks for lastmod."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(tag: str, url: str, lastmod: datetime | None) -> str:
    when = f"<lastmod>{w3c_datetime(lastmod)}</lastmod>" if lastmod else ""
    return f"<{tag}><loc>{escape(url)}</loc>{when}</{tag}>\n"


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def item_parts(session: Session) -> list[tuple[int, datetime]]:
    """The numbers of the item parts that hold at least one listed item, with their newest change."""
    part = (Item.id - 1) // URLS_PER_SITEMAP + 1
    rows = session.execute(
        select(part, func.max(Item.updated_at)).where(_listed()).group_by(part).order_by(part)
    )
    return [(int(n), newest) for n, newest in rows]


def _collections(session: Session) -> list[tuple[int, datetime, datetime]]:
    """Collections holding listed items: (id, its own change, its items' newest change)."""
    rows = session.execute(
        select(Collection.id, Collection.updated_at, func.max(Item.updated_at))
        .join(Item, Item.collection_id == Collection.id)
        .where(_listed())
        .group_by(Collection.id, Collection.updated_at)
        .order_by(Collection.id)
    )
    return [(id_, own, items) for id_, own, items in rows]


def sitemap_index(*, session: Session, base: str) -> str:
    """The sitemap index: the site part, then one part per range of item ids."""
    parts = item_parts(session)
    collections = _collections(session)
    site_changed = _latest(
        *(newest for _, newest in parts), *(max(own, items) for _, own, items in collections)
    )
    lines = [_HEAD, f'<sitemapindex xmlns="{_XMLNS}">\n']
    lines.append(_entry("sitemap", f"{base}/sitemap-{SITE_PART}.xml", site_changed))
    lines += [_entry("sitemap", f"{base}/sitemap-{n}.xml", newest) for n, newest in parts]
    lines.append("</sitemapindex>\n")
    return "".join(lines)


def site_part(*, session: Session, base: str) -> str:
    """The site's own pages and the collections that hold listed items."""
    collections = _collections(session)
    newest_item = session.scalar(select(func.max(Item.updated_at)).where(_listed()))
    site_changed = _latest(newest_item, *(own for _, own, _ in collections))
    lines = [_HEAD, f'<urlset xmlns="{_XMLNS}">\n']
    lines += [_entry("url", base + path, site_changed) for path in SITE_PAGES]
    lines += [
        _entry("url", f"{base}/bo-suu-tap/{id_}", max(own, items))
        for id_, own, items in collections
    ]
    lines.append("</urlset>\n")
    return "".join(lines)


def part_exists(number: int) -> bool:
    """Whether an item part of this number can exist (its ids fit a 64-bit integer)."""
    return 1 <= number <= (2**63 - 1) // URLS_PER_SITEMAP


def item_part(*, session: Session, base: str, number: int) -> Iterator[str]:
    """Item part ``number``, written as its rows arrive from the database."""
    first = (number - 1) * URLS_PER_SITEMAP + 1
    rows = session.execute(
        select(Item.id, Item.updated_at)
        .where(_listed(), Item.id >= first, Item.id <= first + URLS_PER_SITEMAP - 1)
        .order_by(Item.id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    yield _HEAD + f'<urlset xmlns="{_XMLNS}">\n'
    for batch in rows.partitions():
        yield "".join(_entry("url", f"{base}/tai-lieu/{id_}", changed) for id_, changed in batch)
    yield "</urlset>\n"
