"""One family of errors. Adapters and services raise these; one handler renders them (JSON for the
API, a Vietnamese page for the site), so no vendor exception ever reaches a user."""

from __future__ import annotations

import errno
from http import HTTPStatus
from typing import ClassVar


class CollectionError(Exception):
    """An error a user can be told about: a Vietnamese message, an English one, an HTTP status."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "error"
    default_message: ClassVar[str] = "Đã có lỗi xảy ra."
    default_message_en: ClassVar[str] = "Something went wrong."

    def __init__(
        self,
        message: str | None = None,
        *,
        message_en: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        field: str | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        self.message = message or self.default_message
        self.message_en = message_en or (self.default_message_en if message is None else None)
        self.headers = headers or {}
        self.field = field  # the input field at fault, for forms that mark it
        super().__init__(self.message_en or self.message)

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.code, "message": self.message}
        if self.message_en:
            body["message_en"] = self.message_en
        return body


class InvalidInput(CollectionError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_input"
    default_message = "Dữ liệu không hợp lệ."
    default_message_en = "Invalid input."


class NotFound(CollectionError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"
    default_message = "Không tìm thấy."
    default_message_en = "Not found."


class Conflict(CollectionError):
    status = HTTPStatus.CONFLICT
    code = "conflict"
    default_message = "Dữ liệu đã bị thay đổi hoặc đã tồn tại."
    default_message_en = "Conflict with the current state."


class NotAuthenticated(CollectionError):
    status = HTTPStatus.UNAUTHORIZED
    code = "not_authenticated"
    default_message = "Bạn cần đăng nhập."
    default_message_en = "Authentication required."


class PermissionDenied(CollectionError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"
    default_message = "Bạn không có quyền thực hiện thao tác này."
    default_message_en = "Your role does not allow this."


class TooManyRequests(CollectionError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "too_many_requests"
    default_message = "Quá nhiều yêu cầu. Vui lòng thử lại sau."
    default_message_en = "Too many requests. Try again later."


class UnsupportedMediaType(CollectionError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    default_message = "Định dạng tệp không được hỗ trợ."
    default_message_en = "Unsupported file type."


class ServiceUnavailable(CollectionError):
    """A backing service (DB, S3, Meilisearch, queue) cannot be reached."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_message = "Dịch vụ tạm thời không sẵn sàng. Vui lòng thử lại sau."
    default_message_en = "A backing service is unavailable."


class StorageError(ServiceUnavailable):
    code = "storage_unavailable"


class ObjectNotFound(NotFound):
    """The object store has no object under that key."""

    code = "object_not_found"


class SearchUnavailable(ServiceUnavailable):
    code = "search_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached (restarting, down, locked for too long)."""

    code = "database_unavailable"
    default_message = (
        "Cơ sở dữ liệu tạm thời không truy cập được; thao tác chưa được lưu. "
        "Vui lòng thử lại sau ít phút."
    )
    default_message_en = "The database is unavailable; nothing was saved."


class DiskFull(ServiceUnavailable):
    """The server's disk (database, upload spool) has no space left."""

    status = HTTPStatus.INSUFFICIENT_STORAGE
    code = "disk_full"
    default_message = (
        "Máy chủ đã hết chỗ trên đĩa; thao tác chưa được lưu. Vui lòng báo quản trị viên."
    )
    default_message_en = "The server's disk is full; nothing was saved."


def disk_full(exc: BaseException) -> DiskFull | None:
    """A DiskFull for an OSError that says the disk (or the user's quota) is full, else None."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(message_en=f"no space left on the server's disk: {exc}")
    return None


class ConfigurationError(CollectionError):
    """A setting is missing or wrong; raised at start-up, shown without a traceback."""

    code = "configuration_error"
