"""The one adapter to other OAI-PMH repositories: Sickle (the OAI-PMH client aggregators script
with) pages through a list and follows its resumption tokens; this module makes each answer
strict and bounded, and turns every way a source can fail into a ``HarvestError`` in Vietnamese.

What Sickle does not do by itself, and why it is done here:
- Sickle parses with lxml's ``recover=True``: broken XML or an HTML page would read as an empty
  list, i.e. "nothing new". Answers are parsed strictly and must be an ``OAI-PMH`` document.
- Sickle reads each answer whole, with no limit: one answer (one list part) may be at most
  ``harvest_max_response_mb``; the harvest as a whole is streamed part by part.
- Control characters that XML 1.0 forbids (a common fault of real sources) would make a whole
  part unreadable: they are dropped before parsing, as the catalogue refuses them anyway.
- A source that answers with the resumption token it was just given would be followed for ever:
  a token seen twice in one run stops it (``HarvestError``)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from lxml import etree  # type: ignore[import-untyped]  # no stubs; Sickle's own parser
from sickle import Sickle, oaiexceptions
from sickle.iterator import OAIResponseIterator
from sickle.models import Header
from sickle.response import OAIResponse

from collection import __version__
from collection.errors import CollectionError

OAI_NS = "{http://www.openarchives.org/OAI/2.0/}"
USER_AGENT = f"KhoSoThanhHoa-harvester/{__version__} (OAI-PMH; Sickle)"
# XML 1.0 forbids these (and their character references): U+0000–U+0008, U+000B, U+000C,
# U+000E–U+001F. In UTF-8 (and every encoding OAI-PMH allows) each is one byte of its own.
_ILLEGAL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ILLEGAL_REFS = re.compile(
    rb"&#(?:0*(?:[0-8]|1[124-9]|2\d|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));"
)
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False
)
_CHUNK = 64 * 1024


class HarvestError(CollectionError):
    """A source could not be harvested (down, slow, not OAI-PMH, an OAI error); the message says
    why in Vietnamese, for the staff page."""

    status = 502
    code = "harvest_failed"
    default_message = "Không thu hoạch được từ nguồn."


class BadResumptionToken(HarvestError):
    """The source no longer knows the token an interrupted run kept: start the list again."""


@dataclass(frozen=True)
class Identity:
    repository_name: str
    granularity: str  # YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ
    deleted_record: str  # no | transient | persistent


@dataclass
class SourceRecord:
    identifier: str
    datestamp: str
    deleted: bool
    # DC element local name → its values, text only (markup inside an element is read as text).
    metadata: dict[str, list[str]] = field(default_factory=dict)
    problem: str | None = None  # why the record cannot be read, if it cannot


@dataclass
class ListPart:
    records: list[SourceRecord]
    resumption_token: str | None  # where the list goes on; None at its end
    complete_list_size: int | None


class _StrictResponse(OAIResponse):
    """An answer parsed once, strictly (Sickle's own parses again on every access, leniently)."""

    def __init__(self, http_response: Any, params: dict[str, str], xml: Any) -> None:
        super().__init__(http_response, params)
        self._xml = xml

    @property
    def xml(self) -> Any:
        return self._xml


class _StrictSickle(Sickle):
    def __init__(self, endpoint: str, *, timeout: float, max_bytes: int) -> None:
        super().__init__(endpoint, iterator=OAIResponseIterator, max_retries=0)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.requests: list[dict[str, str]] = []  # what was asked, for progress and tests

    def harvest(self, **kwargs: str) -> _StrictResponse:
        self.requests.append(dict(kwargs))
        body, response = self._fetch(kwargs)
        return _StrictResponse(response, kwargs, parse_answer(body))

    def _fetch(self, params: dict[str, str]) -> tuple[bytes, requests.Response]:
        deadline = time.monotonic() + self.timeout * 10  # a source trickling bytes ends too
        try:
            with requests.get(
                self.endpoint,
                params=params,
                timeout=(self.timeout, self.timeout),
                stream=True,
                headers={"User-Agent": USER_AGENT},
            ) as response:
                if response.status_code >= 400:
                    raise HarvestError(
                        f"Nguồn trả lời lỗi HTTP {response.status_code}.",
                        message_en=f"the source answered HTTP {response.status_code}",
                    )
                chunks, size = [], 0
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise HarvestError(
                            f"Một câu trả lời của nguồn lớn hơn {self.max_bytes // 2**20} MB.",
                            message_en=f"an answer is larger than {self.max_bytes} bytes",
                        )
                    if time.monotonic() > deadline:
                        raise _timed_out(self.timeout)
                    chunks.append(chunk)
                return b"".join(chunks), response
        except requests.Timeout as exc:
            raise _timed_out(self.timeout) from exc
        except requests.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                raise _timed_out(self.timeout) from exc
            raise HarvestError(
                "Không kết nối được với nguồn (máy chủ không trả lời hoặc địa chỉ sai).",
                message_en=f"cannot connect to the source: {exc}",
            ) from exc
        except requests.RequestException as exc:
            raise HarvestError(
                "Địa chỉ nguồn không dùng được.", message_en=f"unusable source URL: {exc}"
            ) from exc


def _timed_out(seconds: float) -> HarvestError:
    return HarvestError(
        f"Nguồn không trả lời trong {seconds:g} giây.",
        message_en=f"the source did not answer within {seconds:g} s",
    )


def parse_answer(body: bytes) -> Any:
    """An OAI-PMH answer as an lxml element; HarvestError if it is not one."""
    cleaned = _ILLEGAL_REFS.sub(b"", _ILLEGAL_BYTES.sub(b"", body))
    try:
        root = etree.fromstring(cleaned, _PARSER)
    except etree.XMLSyntaxError as exc:
        if re.search(rb"<\s*(!doctype\s+html|html)", cleaned[:2048], re.IGNORECASE):
            raise _not_oai("một trang HTML", "an HTML page") from exc
        raise HarvestError(
            f"Nguồn trả về XML hỏng ({exc.msg}, dòng {exc.lineno}).",
            message_en=f"the source sent broken XML: {exc}",
        ) from exc
    if root is None:
        raise _not_oai("một câu trả lời rỗng", "an empty answer")
    if root.tag != f"{OAI_NS}OAI-PMH":
        local = etree.QName(root).localname.lower() if isinstance(root.tag, str) else ""
        if local == "html":
            raise _not_oai("một trang HTML", "an HTML page")
        raise _not_oai(f"tài liệu XML <{local}>", f"an XML document <{local}>")
    return root


def _not_oai(what: str, what_en: str) -> HarvestError:
    return HarvestError(
        f"Nguồn trả về {what}, không phải câu trả lời OAI-PMH. Hãy kiểm tra địa chỉ "
        "(thường kết thúc bằng /oai hoặc /oai2).",
        message_en=f"the source sent {what_en}, not an OAI-PMH answer",
    )


def _oai_error(exc: Exception) -> HarvestError:
    name = type(exc).__name__
    code = name[0].lower() + name[1:] if name != "OAIError" else "error"
    text = str(exc).strip()[:500]
    if isinstance(exc, oaiexceptions.BadResumptionToken):
        return BadResumptionToken(
            f"Nguồn không còn nhận mã tiếp tục (badResumptionToken): {text}",
            message_en=f"badResumptionToken: {text}",
        )
    return HarvestError(
        f"Nguồn báo lỗi OAI-PMH «{code}»: {text or 'không có mô tả'}",
        message_en=f"OAI-PMH error {code}: {text}",
    )


_OAI_ERRORS = (
    oaiexceptions.BadArgument,
    oaiexceptions.BadVerb,
    oaiexceptions.BadResumptionToken,
    oaiexceptions.CannotDisseminateFormat,
    oaiexceptions.IdDoesNotExist,
    oaiexceptions.NoSetHierarchy,
    oaiexceptions.NoMetadataFormat,
    oaiexceptions.OAIError,
)


class OaiSource:
    """One OAI-PMH repository, asked through Sickle."""

    def __init__(self, url: str, *, timeout: float, max_bytes: int) -> None:
        self.sickle = _StrictSickle(url, timeout=timeout, max_bytes=max_bytes)

    @property
    def requests(self) -> list[dict[str, str]]:
        return self.sickle.requests

    def identify(self) -> Identity:
        """The source's name, datestamp granularity and deletion policy (verb Identify)."""
        root = self.sickle.harvest(verb="Identify").xml
        error = root.find(f"{OAI_NS}error")
        if error is not None:
            raise HarvestError(
                f"Nguồn báo lỗi OAI-PMH «{error.get('code')}» khi hỏi Identify.",
                message_en=f"Identify answered {error.get('code')}: {error.text}",
            )
        found = root.find(f"{OAI_NS}Identify")
        if found is None:
            raise _not_oai("câu trả lời không có Identify", "an answer without Identify")
        granularity = (found.findtext(f"{OAI_NS}granularity") or "YYYY-MM-DD").strip()
        return Identity(
            repository_name=(found.findtext(f"{OAI_NS}repositoryName") or "").strip()[:500],
            granularity=granularity
            if granularity in ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ")
            else "YYYY-MM-DD",
            deleted_record=(found.findtext(f"{OAI_NS}deletedRecord") or "no").strip(),
        )

    def set_specs(self) -> set[str] | None:
        """Every setSpec the source lists; None if it has no sets (noSetHierarchy)."""
        specs: set[str] = set()
        try:
            for answer in self.sickle.ListSets():
                specs.update((s.text or "").strip() for s in answer.xml.iter(f"{OAI_NS}setSpec"))
        except oaiexceptions.NoSetHierarchy:
            return None
        except _OAI_ERRORS as exc:
            raise _oai_error(exc) from exc
        return specs

    def list_records(
        self,
        *,
        metadata_prefix: str,
        set_spec: str | None = None,
        from_: str | None = None,
        resumption_token: str | None = None,
    ) -> Iterator[ListPart]:
        """The list, one part (answer) at a time, following resumption tokens; from a kept
        token if given. Nothing to harvest (noRecordsMatch) is an empty list, not an error."""
        if resumption_token:
            params = {"resumptionToken": resumption_token}
        else:
            params = {"metadataPrefix": metadata_prefix}
            if set_spec:
                params["set"] = set_spec
            if from_:
                params["from"] = from_
        seen: set[str] = {resumption_token} if resumption_token else set()
        try:
            answers = self.sickle.ListRecords(**params)
            for answer in answers:
                token = answers.resumption_token
                next_token = (token.token or "").strip() if token is not None else ""
                size = _int(token.complete_list_size) if token is not None else None
                records = [_record(r) for r in answer.xml.iter(f"{OAI_NS}record")]
                yield ListPart(records, next_token or None, size)
                if next_token and next_token in seen:  # its records are kept, then stop
                    raise HarvestError(
                        "Nguồn trả lại một mã tiếp tục (resumptionToken) đã dùng: danh sách "
                        "lặp vòng. Đã dừng; những gì đã thu hoạch được giữ lại.",
                        message_en=f"the source repeats resumptionToken {next_token[:100]!r}",
                    )
                seen.add(next_token)
        except oaiexceptions.NoRecordsMatch:
            return
        except _OAI_ERRORS as exc:
            raise _oai_error(exc) from exc


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _record(element: Any) -> SourceRecord:
    header_element = element.find(f"{OAI_NS}header")
    if header_element is None:
        return SourceRecord("", "", False, problem="Bản ghi không có phần đầu (header).")
    header = Header(header_element)
    record = SourceRecord(
        identifier=(header.identifier or "").strip(),
        datestamp=(header.datestamp or "").strip(),
        deleted=bool(header.deleted),
    )
    if not record.identifier:
        record.problem = "Bản ghi không có định danh OAI (identifier)."
        return record
    if record.deleted:
        return record
    metadata = element.find(f"{OAI_NS}metadata")
    container = metadata[0] if metadata is not None and len(metadata) else None
    if container is None:
        record.problem = "Bản ghi không có siêu dữ liệu (metadata)."
        return record
    for child in container:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = etree.QName(child).localname
        record.metadata.setdefault(name, []).append("".join(child.itertext()))
    return record
