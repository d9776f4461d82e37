"""IIIF Image API 3.0, compliance level 0, over what the pipeline stored for a page.

Every page with a page image has an image service ``<item id>-<page number>``:

* a page without zoom tiles is its page image (~1600 px): ``full/max`` and ``full/<w>,<h>`` of
  the size ``sizes`` lists are that image;
* a page with tiles (a scan with more detail than its page image) is the image the tiles were cut
  from: ``width``/``height`` are its size, ``tiles`` lists what libvips wrote (plus the level
  that fits one tile, which libvips writes but does not list), ``sizes`` that one-tile level, and
  ``maxWidth``/``maxHeight`` the page image, so that ``full/max`` is the page image (the spec's
  meaning of ``max``) rather than a 4000 px image nobody stores.

Level 0 serves only what exists: anything else is a 404, as the spec asks for parameters "not
supported for this image service". The page image is not listed in ``sizes`` of a tiled page:
OpenSeadragon takes ``sizes`` as its zoom levels when their count and rounding match the scale
factors, and would then ask for tiles that were never cut."""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from collection.models import Page
from collection.storage import ObjectStore

CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
_REGION = re.compile(r"^(full|\d{1,6},\d{1,6},\d{1,6},\d{1,6})$")
_SIZE = re.compile(r"^\d{1,6},\d{1,6}$")
IMAGE_NAME = "default.jpg"  # the one quality and format a level-0 service must offer


@dataclass(frozen=True)
class Tiles:
    """The tiles libvips cut for a page, as its info.json describes them."""

    width: int
    height: int
    tile_size: int
    scale_factors: tuple[int, ...]

    @property
    def one_tile_factor(self) -> int:
        """libvips's ``depth=onetile`` goes down to the first level that fits in one tile."""
        factor = 1
        while math.ceil(self.width / factor) > self.tile_size or (
            math.ceil(self.height / factor) > self.tile_size
        ):
            factor *= 2
        return factor

    @property
    def one_tile_size(self) -> tuple[int, int]:
        factor = self.one_tile_factor
        return math.ceil(self.width / factor), math.ceil(self.height / factor)

    @property
    def full_region(self) -> str:
        return f"0,0,{self.width},{self.height}"  # the name libvips gives the whole image


def service_info(page: Page, tiles: Tiles | None, service_id: str) -> dict[str, Any] | None:
    """The page's info.json (None when the page has no image yet)."""
    if page.image_key is None or not page.width or not page.height:
        return None
    info: dict[str, Any] = {
        "@context": CONTEXT,
        "id": service_id,
        "type": "ImageService3",
        "protocol": PROTOCOL,
        "profile": "level0",
    }
    if tiles is None:
        info |= {
            "width": page.width,
            "height": page.height,
            "sizes": [{"width": page.width, "height": page.height}],
        }
        return info
    factors = sorted({*tiles.scale_factors, tiles.one_tile_factor})
    small_w, small_h = tiles.one_tile_size
    info |= {
        "width": tiles.width,
        "height": tiles.height,
        "maxWidth": page.width,
        "maxHeight": page.height,
        "sizes": [{"width": small_w, "height": small_h}],
        "tiles": [{"width": tiles.tile_size, "scaleFactors": factors}],
    }
    return info


def object_key(page: Page, tiles: Tiles | None, region: str, size: str, name: str) -> str | None:
    """The stored object behind an image request (rotation already checked), or None."""
    if name != IMAGE_NAME or page.image_key is None or not _REGION.match(region):
        return None
    page_size = f"{page.width},{page.height}"
    if tiles is None:
        whole = region in ("full", f"0,0,{page.width},{page.height}")
        return page.image_key if whole and size in ("max", page_size) else None
    if region in ("full", tiles.full_region):
        if size in ("max", page_size):
            return page.image_key
        small = "{},{}".format(*tiles.one_tile_size)
        return (
            f"{page.tiles_prefix}{tiles.full_region}/{small}/0/{IMAGE_NAME}"
            if size == small
            else None
        )
    if not _SIZE.match(size):
        return None
    return f"{page.tiles_prefix}{region}/{size}/0/{IMAGE_NAME}"  # a 404 from S3 if never cut


class TilesCache:
    """The tiles' info.json of recently asked pages: every tile request needs the page's size,
    and a viewer asks for dozens of tiles a page. Keyed by the page's tiles and its update time,
    so a page tiled again is read again."""

    def __init__(self, capacity: int = 2048) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Tiles] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: ObjectStore, page: Page) -> Tiles | None:
        if page.tiles_prefix is None:
            return None
        key = (page.tiles_prefix, page.updated_at.isoformat() if page.updated_at else "")
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        document = json.loads(store.get_bytes(f"{page.tiles_prefix}info.json"))
        [level] = document["tiles"]
        tiles = Tiles(
            width=int(document["width"]),
            height=int(document["height"]),
            tile_size=int(level["width"]),
            scale_factors=tuple(int(f) for f in level.get("scaleFactors", [])),
        )
        with self._lock:
            self._entries[key] = tiles
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return tiles


tiles_cache = TilesCache()
