"""The public site in Vietnamese first and English second: the reader's choice is a cookie set by
/ngon-ngu/<lang>; templates and routes pass their Vietnamese text through ``translate``. A text
without an English entry stays Vietnamese (never empty)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from jinja2 import pass_context

LANG_COOKIE = "kho_lang"
LANGS = ("vi", "en")

EN = {
    # base
    "Bỏ qua, đến nội dung chính": "Skip to main content",
    "Thư viện tỉnh Thanh Hóa": "Thanh Hóa Provincial Library",
    "Tìm tài liệu": "Search the collection",
    "Tìm sách, báo, ảnh…": "Books, newspapers, photos…",
    "Tìm": "Search",
    "Trang chính": "Main",
    "Bộ sưu tập": "Collections",
    "Duyệt": "Browse",
    "Đăng nhập cho cán bộ": "Staff login",
    "Đăng xuất": "Log out",
    "Thư viện tỉnh Thanh Hóa · Bộ sưu tập số địa phương": (
        "Thanh Hóa Provincial Library · Digital local collection"
    ),
    # places: browse, item page, map
    "Duyệt theo địa danh": "Browse by place",
    "Bản đồ": "Map",
    "Từ 01/07/2025 tỉnh không còn cấp huyện; các xã, phường được sắp xếp lại thành 166 đơn vị. Tài liệu được tìm theo cả tên cũ và tên mới: một huyện cũ gồm tài liệu của các xã trong huyện, một xã mới gồm tài liệu ghi theo các xã cũ đã nhập vào nó.": (
        "Since 1 July 2025 the province has no districts; its communes and wards were merged "
        "into 166. Material is found by old and new names alike: a former district includes "
        "what was placed in its communes, a new commune what was placed in the old ones merged "
        "into it."
    ),
    "Xã, phường từ 01/07/2025": "Communes and wards since 1 July 2025",
    "Huyện, thị xã, thành phố trước 07/2025": "Districts, towns and cities before July 2025",
    "nay là": "now",
    "{n} trong {total} xã, phường có tài liệu.": "{n} of {total} communes and wards have material.",
    "{n} trong {total} huyện, thị xã, thành phố có tài liệu; mở từng nơi để xem các xã, phường bên trong.": (
        "{n} of {total} districts, towns and cities have material; open one to see its "
        "communes and wards."
    ),
    "trước 07/2025 là": "before July 2025:",
    "Bản đồ tài liệu và điểm truy cập": "Map of the material and the access points",
    "Vòng tròn: nơi tài liệu nói đến (càng lớn càng nhiều tài liệu; bấm để xem). Hình vuông: điểm truy cập (thư viện, bưu điện văn hóa xã). Vị trí là tâm xã, phường theo tọa độ của gói vietnamadminunits, không phải ranh giới.": (
        "Circles: the places the material is about (larger, more items; click to see them). "
        "Squares: access points (libraries, commune post-office culture points). Positions "
        "are the centres of communes from the vietnamadminunits package, not boundaries."
    ),
    "{items} địa danh có tài liệu, {points} điểm truy cập có vị trí.": (
        "{items} places with material, {points} access points with a position."
    ),
    "Điểm chưa có xã, phường: {names}.": "Points without a commune yet: {names}.",
    # home
    "Sách, báo, tạp chí, ảnh và tư liệu về vùng đất xứ Thanh, phục vụ bạn đọc tại thư viện và các "
    "điểm bưu điện văn hóa xã trong toàn tỉnh.": (
        "Books, newspapers, magazines, photos and records of the Thanh Hóa region, for readers at "
        "the province's libraries and commune post-office culture points."
    ),
    "Tìm trong {n} tài liệu (gõ có dấu hoặc không dấu)": (
        "Search {n} items (with or without Vietnamese diacritics)"
    ),
    "Ví dụ: trống đồng Đông Sơn, song Ma, Lam Kinh": "e.g. trống đồng Đông Sơn, song Ma, Lam Kinh",
    "Tìm kiếm": "Search",
    "{n} tài liệu": "{n} items",
    "Tài liệu mới": "New items",
    "Chưa có tài liệu nào được công bố.": "Nothing has been published yet.",
    "Duyệt kho": "Browse",
    "Theo {what}": "By {what}",
    # search
    "Tìm tài liệu (có dấu hoặc không dấu)": "Search (with or without diacritics)",
    "Máy tìm kiếm đang tạm dừng, xin bạn thử lại sau ít phút. Các trang tài liệu vẫn xem được bình "
    "thường.": (
        "Search is paused for a moment; please try again in a few minutes. Item pages still work."
    ),
    "tài liệu": "items",
    "cho «{q}»": "for «{q}»",
    "đã tìm: «{q}»": "searched: «{q}»",
    "Sắp xếp": "Sort",
    "Đang lọc": "Filtered by",
    "Bỏ lọc {label}: {value}": "Remove filter {label}: {value}",
    "Thu hẹp kết quả": "Narrow the results",
    "Các trang kết quả": "Result pages",
    "Không tìm thấy tài liệu nào": "No items found",
    "Thử tìm không dấu": "Try without diacritics",
    "Có phải bạn muốn tìm": "Did you mean",
    "Tìm không có «{words}»": "Search without «{words}»",
    "Duyệt kho theo chủ đề, địa danh, loại tài liệu và thời gian": (
        "Browse the collection by subject, place, type and period"
    ),
    "Bỏ bớt điều kiện lọc ở trên.": "Remove some of the filters above.",
    "Kiểm tra chính tả, hoặc dùng ít từ hơn (ví dụ: «Lam Kinh» thay vì cả câu).": (
        "Check the spelling, or use fewer words (e.g. «Lam Kinh» rather than a sentence)."
    ),
    "Có thể gõ không dấu: «dong son» tìm được cả «Đông Sơn» và «đồng».": (
        "You may type without diacritics: «dong son» finds «Đông Sơn» and «đồng»."
    ),
    "Phù hợp nhất": "Best match",
    "Mới nhất": "Newest",
    "Cũ nhất": "Oldest",
    "Nhan đề A–Z": "Title A–Z",
    "Loại tài liệu": "Type",
    "Địa danh": "Place",
    "Thập niên": "Decade",
    "Thập niên {value}": "{value}s",
    "Ngôn ngữ": "Language",
    "Chủ đề": "Subject",
    "{n} trang khớp": "{n} matching pages",
    "{n} trang": "{n} pages",
    "Chỉ đọc tại điểm truy cập": "Read at access points only",
    "‹ Trước": "‹ Previous",
    "Sau ›": "Next ›",
    # item
    "Trang chủ": "Home",
    "Vị trí": "Breadcrumbs",
    "Bản ghi này chưa được công bố (chỉ cán bộ thấy).": (
        "This record is not published (only staff see it)."
    ),
    "Tài liệu này chỉ đọc được tại các thư viện công cộng và điểm bưu điện văn hóa xã trong tỉnh. "
    "Bạn vẫn xem được thông tin mô tả bên dưới.": (
        "This item can only be read at the province's public libraries and commune post-office "
        "culture points. Its description is below."
    ),
    "Xem tài liệu": "Read the item",
    "‹ Trang trước": "‹ Previous page",
    "Trang sau ›": "Next page ›",
    "Trang": "Page",
    "Đến": "Go",
    "Thu nhỏ": "Zoom out",
    "Phóng to": "Zoom in",
    "Ảnh trang": "Page image",
    "Ảnh trang {n} của «{title}»": "Image of page {n} of «{title}»",
    "Mở ảnh trang cỡ lớn": "Open the large page image",
    "Chữ của trang": "Text of page",
    "Trang này chưa có chữ (ảnh hoặc trang trắng).": "No text on this page (an image or blank).",
    "Các trang": "Pages",
    "Tìm trong tài liệu này": "Search inside this item",
    "Từ cần tìm trong tài liệu": "Words to find in this item",
    "Máy tìm kiếm đang tạm dừng, xin thử lại sau.": "Search is paused; please try again later.",
    "{n} trang khớp với «{q}»:": "{n} pages match «{q}»:",
    "Không có trang nào khớp với «{q}».": "No page matches «{q}».",
    "Tài liệu này chưa có trang số hóa": "This item has no digitised pages yet",
    " (đang được xử lý)": " (being processed)",
    "Thông tin tài liệu": "About this item",
    "Quyền truy cập": "Access",
    "Tải về": "Download",
    "Bản PDF có thể tìm kiếm": "Searchable PDF",
    "Tệp gốc": "Original file",
    "Trích dẫn": "Cite",
    "Địa chỉ ổn định": "Permanent address",
    "Tệp kê khai IIIF (manifest)": "IIIF manifest",
    "Kéo biểu tượng này vào một trình xem IIIF (Mirador, Universal Viewer) để mở tài liệu": (
        "Drag this icon into a IIIF viewer (Mirador, Universal Viewer) to open the item"
    ),
    "Công khai": "Public",
    "Chỉ cán bộ thư viện": "Library staff only",
    # record labels
    "Nhan đề": "Title",
    "Nhan đề khác": "Other title",
    "Tác giả": "Creator",
    "Người tham gia": "Contributor",
    "Tóm tắt": "Description",
    "Nhà xuất bản": "Publisher",
    "Thời gian": "Date",
    "Kiểu tài nguyên": "Resource type",
    "Định dạng": "Format",
    "Định danh": "Identifier",
    "Nguồn": "Source",
    "Liên kết": "Relation",
    "Phạm vi": "Coverage",
    "Bản quyền": "Rights",
    "Thời kỳ": "Period",
    # language names
    "Tiếng Việt": "Vietnamese",
    "Tiếng Anh": "English",
    "Tiếng Pháp": "French",
    "Tiếng Hán": "Chinese",
    "Hán văn": "Classical Chinese",
    "Tiếng Nga": "Russian",
    "Tiếng Thái": "Thai",
    "Tiếng Mông": "Hmong",
    # collections and browse
    "Chưa có bộ sưu tập nào.": "No collections yet.",
    "{n} tài liệu, xếp theo nhan đề": "{n} items, by title",
    "Tìm và lọc trong bộ sưu tập này": "Search and filter this collection",
    "Các trang của bộ sưu tập": "Collection pages",
    "Bộ sưu tập này chưa có tài liệu nào được công bố.": "Nothing is published in this collection yet.",
    "Duyệt theo {what}": "Browse by {what}",
    "Chưa có tài liệu nào.": "No items yet.",
    "Chọn một cách duyệt ở trên: theo địa danh trong tỉnh, chủ đề, thập niên hoặc loại tài liệu. "
    "Danh sách xếp theo thứ tự chữ cái tiếng Việt.": (
        "Choose a list above: by place in the province, subject, decade or type. Lists are in "
        "Vietnamese alphabetical order."
    ),
    # errors
    "Không tìm thấy": "Not found",
    "Không có quyền truy cập": "Access denied",
    "Dịch vụ tạm thời gián đoạn": "Service temporarily unavailable",
    "Đã có lỗi": "Something went wrong",
    "Về trang chủ": "Back to the home page",
}


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "vi")
    return chosen if chosen in LANGS else "vi"


def translate(lang: str, text: str, **values: Any) -> str:
    chosen = EN.get(text, text) if lang == "en" else text
    return chosen.format(**values) if values else chosen


def tr(request: Request, text: str, **values: Any) -> str:
    return translate(lang_of(request), text, **values)


@pass_context
def template_lang(context: Any) -> str:
    return lang_of(context["request"])


@pass_context
def template_translate(context: Any, text: str, **values: Any) -> str:
    return translate(lang_of(context["request"]), text, **values)
