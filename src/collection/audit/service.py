"""Recording changes in the audit log and reading it back. Services call ``record`` inside the
unit of work that makes the change, so a change and its log entry commit (or fail) together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.models import AuditEvent, User

# What staff read in the log, per action.
ACTION_LABELS: dict[str, str] = {
    "item.create": "Tạo tài liệu",
    "item.update": "Sửa tài liệu",
    "item.delete": "Xóa tài liệu",
    "page.correct": "Sửa văn bản trang",
    "file.upload": "Tải tệp lên",
    "job.rerun": "Chạy lại xử lý",
    "job.retry": "Thử lại công việc",
    "collection.create": "Tạo bộ sưu tập",
    "collection.update": "Sửa bộ sưu tập",
    "point.create": "Tạo điểm truy cập",
    "point.update": "Sửa điểm truy cập",
    "point.rotate_key": "Cấp mã nhúng mới",
    "user.create": "Tạo tài khoản",
    "user.update": "Sửa tài khoản",
    "user.password": "Đặt lại mật khẩu",
    "import.run": "Nhập hàng loạt",
    "place.create": "Thêm địa danh",
    "place.update": "Sửa địa danh",
    "place.delete": "Xóa địa danh",
    "place.links": "Sửa đơn vị mới tương ứng",
    "figures.submit": "Gửi số liệu tháng của điểm",
    "report.freeze": "Chốt báo cáo năm",
    "report.keys": "Hủy khóa đếm người dùng của năm",
    "harvest.add": "Thêm nguồn thu hoạch OAI-PMH",
    "harvest.run": "Thu hoạch OAI-PMH",
    "fixity.mismatch": "KIỂM TRA TOÀN VẸN: TỆP GỐC BỊ THAY ĐỔI",
    "fixity.missing": "KIỂM TRA TOÀN VẸN: MẤT TỆP GỐC",
    "fixity.restored": "Kiểm tra toàn vẹn: tệp gốc nguyên vẹn trở lại",
}


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add a log entry to the current unit of work."""
    event = AuditEvent(
        user_id=actor.id if actor else None,
        actor=actor.email if actor else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary[:500],
        changes=dict(changes or {}),
    )
    session.add(event)
    return event


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


@dataclass(frozen=True)
class LogFilter:
    target_type: str | None = None
    target_id: int | None = None
    user_id: int | None = None
    action: str | None = None


def entries(
    *,
    session: Session,
    where: LogFilter = LogFilter(),
    limit: int = 50,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """The newest entries first; ``before_id`` pages back through older ones."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if where.target_type:
        query = query.where(AuditEvent.target_type == where.target_type)
    if where.target_id is not None:
        query = query.where(AuditEvent.target_id == where.target_id)
    if where.user_id is not None:
        query = query.where(AuditEvent.user_id == where.user_id)
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))
