"""libvips for the tile cutter, loaded in the sandbox's fork server so that a tiles call does not
import it again (0.15-0.25 s of CPU a call: a quarter of the tiles stage on a long scan).

One libvips worker thread and two malloc arenas: libvips would start a thread per core, and
glibc gives each thread a 64 MB malloc arena of address space, which under the sandbox's
address-space limit failed a 200 MP scan ("wbuffer_write: write failed"). libvips reads its
setting when it is first loaded and starts no thread before it has work; the arena limit is
malloc's state, which the children forked after this import inherit."""

from __future__ import annotations

import ctypes
import os

os.environ["VIPS_CONCURRENCY"] = "1"
M_ARENA_MAX = -8  # glibc's mallopt parameter
ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)

import pyvips  # noqa: E402 -- after the settings it reads

__all__ = ["pyvips"]
