"""What the public site reads from the catalogue: an item as a citizen sees it (its record, and
its pages and files when the access level allows), collections with their counts, new items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from collection.catalogue.service import may_read
from collection.errors import NotFound
from collection.models import Access, Collection, Item, ItemStatus, Page, StoredFile, User
from collection.search.vietnamese import sort_key

LISTED = (Access.PUBLIC, Access.ONSITE)  # records anyone may see (on-site: the record only)

DC_LABELS = {
    "title": "Nhan đề",
    "alternative": "Nhan đề khác",
    "creator": "Tác giả",
    "contributor": "Người tham gia",
    "subject": "Chủ đề",
    "description": "Tóm tắt",
    "publisher": "Nhà xuất bản",
    "date": "Thời gian",
    "type": "Kiểu tài nguyên",
    "format": "Định dạng",
    "identifier": "Định danh",
    "source": "Nguồn",
    "language": "Ngôn ngữ",
    "relation": "Liên kết",
    "coverage": "Phạm vi",
    "rights": "Bản quyền",
    "place": "Địa danh",
    "period": "Thời kỳ",
    "document_type": "Loại tài liệu",
}
LANGUAGES = {
    "vi": "Tiếng Việt",
    "en": "Tiếng Anh",
    "fr": "Tiếng Pháp",
    "zh": "Tiếng Hán",
    "lzh": "Hán văn",
    "ru": "Tiếng Nga",
    "th": "Tiếng Thái",
    "mww": "Tiếng Mông",
}


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


@dataclass
class Reading:
    """An item as one reader sees it."""

    item: Item
    readable: bool  # pages, text and files (False: on-site item seen from outside a point)
    page_count: int
    files: list[StoredFile]

    def metadata(self) -> list[tuple[str, str]]:
        """Dublin Core and local fields with Vietnamese labels, the empty ones left out."""
        rows = []
        for name, label in DC_LABELS.items():
            if name == "place":
                continue  # places are shown with both their names (see the item page)
            value = getattr(self.item, name)
            if name == "language":
                value = [language_name(code) for code in value]
            text = "; ".join(value) if isinstance(value, list) else str(value or "")
            if text.strip():
                rows.append((label, text))
        return rows

    def citation(self, url: str, today: date) -> str:
        item = self.item
        parts = []
        if item.creator:
            parts.append(", ".join(item.creator) + ".")
        if item.date:
            parts.append(f"({item.date}).")
        parts.append(f"{item.title}.")
        if item.publisher:
            parts.append(f"{item.publisher}.")
        parts.append("Kho số Thanh Hóa, Thư viện tỉnh Thanh Hóa.")
        parts.append(f"{url} (truy cập ngày {today.day}/{today.month}/{today.year}).")
        return " ".join(parts)


def _listed(session: Session, item_id: int, viewer: User | None, *, record: bool = True) -> Item:
    """The item if this reader may see its record at all (NotFound otherwise); without its
    places read at once unless the ``record`` is shown (a page image needs only its access)."""
    options = () if record else (lazyload(Item.places),)
    item = session.get(Item, item_id, options=options)
    if item is None or not may_read(item, viewer, at_point=True):
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    return item


def reading(*, session: Session, item_id: int, viewer: User | None, at_point: bool) -> Reading:
    """The item for its page: NotFound when it is not listed for this reader."""
    item = _listed(session, item_id, viewer)
    readable = may_read(item, viewer, at_point=at_point)
    files = list(item.files) if readable else []
    return Reading(
        item=item, readable=readable, page_count=page_count(session, item_id), files=files
    )


def page_count(session: Session, item_id: int) -> int:
    return session.scalar(select(func.count()).where(Page.item_id == item_id)) or 0


def openable(
    *,
    session: Session,
    item_id: int,
    viewer: User | None,
    at_point: bool,
    refusal: tuple[str, str],
) -> Item:
    """The item whose pages or files are asked for, checked without reading anything else
    (thumbnails of a results page ask twenty times). A listed on-site item seen from outside
    an access point is refused with ``refusal`` (Vietnamese, English), which says why."""
    item = _listed(session, item_id, viewer, record=False)
    if not may_read(item, viewer, at_point=at_point):
        raise NotFound(refusal[0], message_en=refusal[1])
    return item


def page_of(*, session: Session, item_id: int, number: int) -> Page:
    page = session.scalar(select(Page).where(Page.item_id == item_id, Page.number == number))
    if page is None:
        raise NotFound(
            f"Tài liệu số {item_id} không có trang {number}.",
            message_en=f"item {item_id} has no page {number}",
        )
    return page


def file_of(*, session: Session, item_id: int, file_id: int) -> StoredFile:
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.item_id != item_id:
        raise NotFound("Không có tệp này.", message_en=f"no file {file_id} in item {item_id}")
    return stored


def thumbnails(session: Session, item_ids: list[int]) -> dict[int, int]:
    """The first page with an image of each item (its number), for covers."""
    rows = session.execute(
        select(Page.item_id, func.min(Page.number))
        .where(Page.item_id.in_(item_ids), Page.thumbnail_key.is_not(None))
        .group_by(Page.item_id)
    )
    return {item_id: number for item_id, number in rows}


@dataclass
class CollectionCard:
    id: int
    title: str
    description: str
    count: int
    cover_item: int | None  # an item whose first page image stands as the cover


def collections(session: Session) -> list[CollectionCard]:
    """Every collection with its number of listed items, in Vietnamese alphabetical order."""
    counts = dict(
        session.execute(
            select(Item.collection_id, func.count())
            .where(Item.status == ItemStatus.PUBLISHED, Item.access.in_(LISTED))
            .group_by(Item.collection_id)
        ).all()
    )
    covers = dict(
        session.execute(
            select(Item.collection_id, func.min(Item.id))
            .join(Page, Page.item_id == Item.id)
            .where(
                Item.status == ItemStatus.PUBLISHED,
                Item.access == Access.PUBLIC,
                Page.thumbnail_key.is_not(None),
            )
            .group_by(Item.collection_id)
        ).all()
    )
    cards = [
        CollectionCard(
            id=c.id,
            title=c.title,
            description=c.description,
            count=counts.get(c.id, 0),
            cover_item=covers.get(c.id),
        )
        for c in session.scalars(select(Collection))
    ]
    return sorted(cards, key=lambda card: sort_key(card.title))


def collection_titles(session: Session) -> dict[int, str]:
    return {id_: title for id_, title in session.execute(select(Collection.id, Collection.title))}


def collection(session: Session, collection_id: int) -> Collection:
    found = session.get(Collection, collection_id)
    if found is None:
        raise NotFound(
            f"Không có bộ sưu tập số {collection_id}.",
            message_en=f"no collection {collection_id}",
        )
    return found


def newest(session: Session, limit: int = 8) -> list[Item]:
    return list(
        session.scalars(
            select(Item)
            .where(Item.status == ItemStatus.PUBLISHED, Item.access.in_(LISTED))
            .order_by(Item.published_at.desc().nulls_last(), Item.id.desc())
            .limit(limit)
        )
    )


def published_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.status == ItemStatus.PUBLISHED, Item.access.in_(LISTED))
        )
        or 0
    )
