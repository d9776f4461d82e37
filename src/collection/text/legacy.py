"""Vietnamese text from before Unicode: TCVN3 (ABC) and VNI-Windows.

Old PDFs made with .VnTime or VNI-Times fonts carry text that extracts as Latin-1 look-alikes:
"Thanh Ho¸", "ViÖt Nam", "§­êng" (TCVN3) or "Thanh Hoùa", "Vieät Nam" (VNI). Such text is found
by its tell-tale characters and converted, only when the conversion makes it more Vietnamese."""

from __future__ import annotations

import re
import unicodedata

# TCVN 5712:1993 (VN3): one byte per letter. Capitals with tones used a separate font with the
# lowercase codes, so they come back lowercase; the letters below are the ones one font holds.
TCVN3 = {
    "¸": "á", "µ": "à", "¶": "ả", "·": "ã", "¹": "ạ",
    "¨": "ă", "¾": "ắ", "»": "ằ", "¼": "ẳ", "½": "ẵ", "Æ": "ặ",
    "©": "â", "Ê": "ấ", "Ç": "ầ", "È": "ẩ", "É": "ẫ", "Ë": "ậ",
    "®": "đ",
    "Ð": "é", "Ì": "è", "Î": "ẻ", "Ï": "ẽ", "Ñ": "ẹ",
    "ª": "ê", "Õ": "ế", "Ò": "ề", "Ó": "ể", "Ô": "ễ", "Ö": "ệ",
    "Ý": "í", "×": "ì", "Ø": "ỉ", "Ü": "ĩ", "Þ": "ị",
    "ã": "ó", "ß": "ò", "á": "ỏ", "â": "õ", "ä": "ọ",
    "«": "ô", "è": "ố", "å": "ồ", "æ": "ổ", "ç": "ỗ", "é": "ộ",
    "¬": "ơ", "í": "ớ", "ê": "ờ", "ë": "ở", "ì": "ỡ", "î": "ợ",
    "ó": "ú", "ï": "ù", "ñ": "ủ", "ò": "ũ", "ô": "ụ",
    "\xad": "ư", "ø": "ứ", "õ": "ừ", "ö": "ử", "÷": "ữ", "ù": "ự",
    "ý": "ý", "ú": "ỳ", "û": "ỷ", "ü": "ỹ", "þ": "ỵ",
    "¡": "Ă", "¢": "Â", "§": "Đ", "£": "Ê", "¤": "Ô", "¥": "Ơ", "¦": "Ư",
}  # fmt: skip
# Characters that almost never occur in Vietnamese Unicode text but are common in TCVN3.
_TCVN3_TELLS = set("¸µ¶·¹¨¾»¼½Æ©ÊÇÈÉË®ÐÌÎÏÑªÕÒÓÔÖÝ×ØÜÞßäåæçë«¬î\xadøõö÷þ¡¢§£¤¥¦")

# VNI-Windows: a base letter followed by a mark character (tone and/or vowel shape).
_VNI_MARKS = {
    "ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323",
    "Ù": "\u0301", "Ø": "\u0300", "Û": "\u0309", "Õ": "\u0303", "Ï": "\u0323",
}  # fmt: skip
# Mark characters that also change the vowel: circumflex or breve, with or without a tone.
_VNI_SHAPES = {
    "â": ("\u0302", ""), "á": ("\u0302", "\u0301"), "à": ("\u0302", "\u0300"),
    "å": ("\u0302", "\u0309"), "ã": ("\u0302", "\u0303"), "ä": ("\u0302", "\u0323"),
    "ê": ("\u0306", ""), "é": ("\u0306", "\u0301"), "è": ("\u0306", "\u0300"),
    "ú": ("\u0306", "\u0309"), "ü": ("\u0306", "\u0303"), "ë": ("\u0306", "\u0323"),
    "Â": ("\u0302", ""), "Á": ("\u0302", "\u0301"), "À": ("\u0302", "\u0300"),
    "Å": ("\u0302", "\u0309"), "Ã": ("\u0302", "\u0303"), "Ä": ("\u0302", "\u0323"),
    "Ê": ("\u0306", ""), "É": ("\u0306", "\u0301"), "È": ("\u0306", "\u0300"),
    "Ú": ("\u0306", "\u0309"), "Ü": ("\u0306", "\u0303"), "Ë": ("\u0306", "\u0323"),
}  # fmt: skip
# Single VNI characters for letters that have their own code.
_VNI_LETTERS = {
    "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư", "ñ": "đ", "Ñ": "Đ",
    "í": "í", "ì": "ì", "æ": "ỉ", "ó": "ĩ", "ò": "ị",
    "Í": "Í", "Ì": "Ì", "Æ": "Ỉ", "Ó": "Ĩ", "Ò": "Ị", "î": "ỵ", "Î": "Ỵ",
}  # fmt: skip
_VNI_PAIR = re.compile(
    "([aeiouyAEIOUYôöÔÖ])([" + re.escape("".join(_VNI_MARKS) + "".join(_VNI_SHAPES)) + "])"
)
# One pass over the text: a vowel with its mark, or a letter with its own code. (Two passes
# would decode again what the first produced: "ó" is also VNI's code for "ĩ".)
_VNI_TOKEN = re.compile(_VNI_PAIR.pattern + "|([" + re.escape("".join(_VNI_LETTERS)) + "])")
_VIETNAMESE = re.compile("[\u1ea0-\u1ef9ăâđêôơưĂÂĐÊÔƠƯáàảãạéèẻẽẹíìỉĩịóòỏõọúùủũụýỳỷỹỵ]")


def decode_tcvn3(text: str) -> str:
    return "".join(TCVN3.get(ch, ch) for ch in text)


def decode_vni(text: str) -> str:
    def token(match: re.Match[str]) -> str:
        base, mark, single = match.group(1), match.group(2), match.group(3)
        if single:
            return _VNI_LETTERS[single]
        base = _VNI_LETTERS.get(base, base)
        if mark in _VNI_MARKS:
            return unicodedata.normalize("NFC", base + _VNI_MARKS[mark])
        shape, tone = _VNI_SHAPES[mark]
        return unicodedata.normalize("NFC", base + shape + tone)

    return _VNI_TOKEN.sub(token, text)


def _vietnamese_share(text: str) -> float:
    letters = sum(ch.isalpha() for ch in text)
    return len(_VIETNAMESE.findall(text)) / letters if letters else 0.0


def detect(text: str) -> str | None:
    """'tcvn3' or 'vni' if the text looks legacy-encoded, else None.

    Both encodings reuse Latin-1 letters, so each plausible decoding is tried and the one that
    makes the text most Vietnamese wins."""
    return _best(unicodedata.normalize("NFC", text))[1]


def _best(text: str) -> tuple[str, str | None]:
    letters = sum(ch.isalpha() for ch in text) or 1
    words = len(text.split()) or 1
    candidates: list[tuple[str, str]] = []
    tells = sum(ch in _TCVN3_TELLS for ch in text)
    if tells >= 3 and tells / letters > 0.02:
        candidates.append((unicodedata.normalize("NFC", decode_tcvn3(text)), "tcvn3"))
    pairs = len(_VNI_PAIR.findall(text))
    if pairs >= 3 and pairs / words > 0.1:
        candidates.append((unicodedata.normalize("NFC", decode_vni(text)), "vni"))
    best: tuple[str, str | None] = (text, None)
    best_share = _vietnamese_share(text) + 0.05  # a conversion must clearly do better
    for converted, encoding in candidates:
        share = _vietnamese_share(converted)
        if share > best_share:
            best, best_share = (converted, encoding), share
    return best


def to_unicode(text: str) -> tuple[str, str | None]:
    """The text in Unicode NFC, and which legacy encoding it was converted from (if any).

    A conversion is kept only if it makes the text clearly more Vietnamese, so ordinary
    Unicode text (or French with é, è) is left as it is."""
    return _best(unicodedata.normalize("NFC", text))
