"""Where the gazetteer's units come from: the only module that reads the two packages.

- ``vietnam-provinces``: the 34 provinces and Thanh Hóa's 166 communes and wards since 1 July
  2025, with their official codes (the newest of the two on codes);
- ``vietnamadminunits``: the units as they were before (26 district-level units and 547
  communes, with coordinates), the coordinates of the new ones, and which old commune became
  which new one (a commune split between two new ones has a default part);
- ``ingest/dia-danh.json``: names the library adds (a former district, former names).

Each unit says which package (and version) it came from, so a place can say where it came from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from collection.config import PROJECT_ROOT
from collection.errors import ConfigurationError
from collection.models import REFORM_DATE, PlaceLevel
from collection.search.vietnamese import nfc

PROVINCE_CODE = "38"  # Thanh Hóa, in both packages
PACKAGES = ("vietnam-provinces", "vietnamadminunits")
ADDITIONS_FILE = PROJECT_ROOT / "ingest" / "dia-danh.json"
LAST_OLD_DAY = REFORM_DATE - timedelta(days=1)


@dataclass(frozen=True)
class UnitRow:
    key: str
    code: str | None
    name: str
    kind: str
    level: PlaceLevel
    parent_key: str | None
    source: str
    valid_from: date | None = None
    valid_to: date | None = None
    lat: float | None = None
    lon: float | None = None
    aliases: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class LinkRow:
    old_key: str
    new_key: str
    whole: bool
    is_default: bool
    source: str


@dataclass(frozen=True)
class SeedData:
    units: tuple[UnitRow, ...]
    links: tuple[LinkRow, ...]
    versions: dict[str, str] = field(default_factory=dict)  # package → version
    data_versions: dict[str, str] = field(default_factory=dict)


def installed_versions() -> dict[str, str]:
    """The versions of the packages installed now (cheap: no import of the packages)."""
    return {name: version(name) for name in PACKAGES}


@lru_cache(maxsize=1)
def package_data() -> SeedData:
    """Thanh Hóa's units and links from the installed packages."""
    try:
        return _read_packages()
    except (ImportError, KeyError, ValueError, OSError) as exc:
        raise ConfigurationError(
            f"Không đọc được dữ liệu đơn vị hành chính từ gói: {exc}",
            message_en=f"cannot read the administrative units from the packages: {exc!r}",
        ) from exc


def _kind(text: str) -> str:
    return nfc(text).strip().lower()


def _bare(full: str, kind: str) -> str:
    """ "Phường Hạc Thành" → "Hạc Thành"."""
    full = nfc(full).strip()
    return full[len(kind) :].strip() if full.lower().startswith(kind) else full


def _aliases(raw: Any) -> tuple[str, ...]:
    return tuple(nfc(a).strip() for a in str(raw or "").split(";") if a and a.strip())


def _read_packages() -> SeedData:
    import vietnam_provinces
    from vietnam_provinces import Ward
    from vietnamadminunits.converter import converter_2025
    from vietnamadminunits.database import query

    versions = installed_versions()
    vp = f"vietnam-provinces {versions['vietnam-provinces']}"
    vau = f"vietnamadminunits {versions['vietnamadminunits']}"
    legacy = query(
        "SELECT * FROM admin_units_legacy WHERE provinceCode = '38' ORDER BY districtCode, wardCode"
    )
    current = {
        r["wardKey"]: r for r in query("SELECT * FROM admin_units WHERE provinceCode = '38'")
    }
    if not legacy or not current:
        raise ValueError("no rows for Thanh Hóa (provinceCode 38)")
    first = legacy[0]
    units: list[UnitRow] = [
        UnitRow(
            key=PROVINCE_CODE,
            code=PROVINCE_CODE,
            name="Thanh Hóa",
            kind="tỉnh",
            level=PlaceLevel.PROVINCE,
            parent_key=None,
            source=f"{vp}; tọa độ: {vau}",
            lat=next(iter(current.values()))["provinceLat"],
            lon=next(iter(current.values()))["provinceLon"],
            aliases=("Toàn tỉnh Thanh Hóa", "xứ Thanh"),
        )
    ]
    assert first["provinceShort"] == "Thanh Hóa"
    districts: dict[str, None] = {}
    old_by_key: dict[str, str] = {}  # converter's "province_district_ward" → our key
    for row in legacy:
        district_key = f"cu-{row['districtCode']}"
        if district_key not in districts:
            districts[district_key] = None
            kind = _kind(row["districtType"])
            units.append(
                UnitRow(
                    key=district_key,
                    code=str(row["districtCode"]),
                    name=nfc(row["districtShort"]),
                    kind=kind,
                    level=PlaceLevel.DISTRICT,
                    parent_key=PROVINCE_CODE,
                    source=vau,
                    valid_to=LAST_OLD_DAY,
                    lat=row["districtLat"],
                    lon=row["districtLon"],
                    aliases=_aliases(row["districtAlias"]),
                )
            )
        key = f"cu-{row['wardCode']}"
        old_by_key[f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"] = key
        units.append(
            UnitRow(
                key=key,
                code=str(row["wardCode"]),
                name=nfc(row["wardShort"]),
                kind=_kind(row["wardType"]),
                level=PlaceLevel.COMMUNE,
                parent_key=district_key,
                source=vau,
                valid_to=LAST_OLD_DAY,
                lat=row["wardLat"],
                lon=row["wardLon"],
                aliases=_aliases(row["wardAlias"]),
            )
        )
    new_by_ward_key: dict[str, str] = {}
    for ward in Ward.iter_all():
        if int(ward.province_code.value) != int(PROVINCE_CODE):
            continue
        kind = _kind(ward.division_type.value)
        ward_key = ward.codename.replace("_", "")
        located = current.get(ward_key)
        code = str(int(ward.code.value))
        note = ""
        if located is not None and str(located["wardCode"]) != code:
            note = f"Mã theo vietnam-provinces; vietnamadminunits ghi mã {located['wardCode']}."
        key = f"moi-{code}"
        new_by_ward_key[ward_key] = key
        units.append(
            UnitRow(
                key=key,
                code=code,
                name=_bare(ward.name, kind),
                kind=kind,
                level=PlaceLevel.COMMUNE,
                parent_key=PROVINCE_CODE,
                source=vp + (f"; tọa độ: {vau}" if located else ""),
                valid_from=REFORM_DATE,
                lat=located["wardLat"] if located else None,
                lon=located["wardLon"] if located else None,
                aliases=_aliases(located["wardAlias"]) if located else (),
                note=note,
            )
        )
    links: list[LinkRow] = []
    whole = converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED["tinhthanhhoa"]
    for new_ward_key, olds in whole.items():
        for old in olds:
            links.append(LinkRow(old_by_key[old], new_by_ward_key[new_ward_key], True, True, vau))
    split = converter_2025.DICT_PROVINCE_WARD_DIVIDED.get("tinhthanhhoa", {})
    for old, parts in split.items():
        for part in parts:
            links.append(
                LinkRow(
                    old_by_key[old],
                    new_by_ward_key[part["newWardKey"]],
                    False,
                    bool(part["isDefaultNewWard"]),
                    vau,
                )
            )
    return SeedData(
        units=tuple(units),
        links=tuple(links),
        versions=versions,
        data_versions={"vietnam-provinces": str(vietnam_provinces.__data_version__)},
    )


def additions(path: Path = ADDITIONS_FILE) -> list[UnitRow]:
    """The names the library adds (``ingest/dia-danh.json``): loaded once, then staff's to edit."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["places"]
        source = f"{path.parent.name}/{path.name}"
        return [
            UnitRow(
                key=row["key"],
                code=None,
                name=nfc(row["name"]).strip(),
                kind=nfc(row["kind"]).strip(),
                level=PlaceLevel(row.get("level", "local")),
                parent_key=row["under"],
                source=source,
                valid_from=date.fromisoformat(row["valid_from"]) if row.get("valid_from") else None,
                valid_to=date.fromisoformat(row["valid_to"]) if row.get("valid_to") else None,
                aliases=tuple(nfc(a).strip() for a in row.get("aliases", [])),
                note=nfc(row.get("note", "")),
            )
            for row in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"Không đọc được danh sách địa danh bổ sung {path}: {exc}",
            message_en=f"cannot read the place additions {path}: {exc!r}",
        ) from exc


def added_aliases(path: Path = ADDITIONS_FILE) -> dict[str, list[str]]:
    """Other names the library gives to package units (key → names), from the same file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8")).get("aliases", {})
        return {str(k): [nfc(v).strip() for v in vs] for k, vs in raw.items()}
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigurationError(
            f"Không đọc được danh sách địa danh bổ sung {path}: {exc}",
            message_en=f"cannot read the place additions {path}: {exc!r}",
        ) from exc
