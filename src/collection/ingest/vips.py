"""libvips for the tile cutter, loaded in the sandbox's fork server so that a tiles call does not
import it again (0.15-0.25 s of CPU a call: a quarter of the tiles stage on a long scan).

One libvips worker thread: it would start one per core, and glibc gives each thread a 64 MB
malloc arena of address space, which under the sandbox's address-space limit failed a 200 MP
scan ("wbuffer_write: write failed"). libvips reads the setting when it is first loaded; it
starts no thread before it has work, so children forked after this import are safe."""

from __future__ import annotations

import os

os.environ["VIPS_CONCURRENCY"] = "1"

import pyvips  # after the setting it reads

__all__ = ["pyvips"]
