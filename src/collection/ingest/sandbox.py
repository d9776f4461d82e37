"""Run a parser in a child process with a time and memory limit, so a file that crashes or hangs
MuPDF or Pillow fails its job, not the worker."""

from __future__ import annotations

import importlib.machinery
import multiprocessing
import resource
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from collection.errors import CollectionError, InvalidInput

T = TypeVar("T")
# Children fork from a small server process that has only imported the parsers (never used
# them): each call starts in milliseconds instead of the ~0.7 s a fresh interpreter takes, and
# inherits no MuPDF state, open files or threads from the worker.
_context = multiprocessing.get_context("forkserver")
# What the renderers import when they run, imported once here: numpy (the skew measure) took
# ~0.2 s of CPU in every OCR render call, a fifth of the OCR stage's rendering (py-spy), and
# libvips as much in every tiles call.
_context.set_forkserver_preload(
    [
        "collection.ingest.documents",
        "collection.ingest.preprocess",
        "collection.ingest.vips",
        "pymupdf",
        "numpy",
        "PIL.Image",
        "PIL.ImageChops",
        "PIL.ImageFilter",
        "PIL.ImageOps",
        "PIL.ImageStat",
    ]
)
_starting = threading.Lock()


@contextmanager
def _main_left_alone() -> Iterator[None]:
    """Children need nothing from the worker's main module, but multiprocessing runs it again in
    every child of a script (the `collection` console script: ~0.4 s of imports a call). Named
    "__main__" while a child starts, the main module is one a child does not import again
    (multiprocessing.spawn._fixup_main_from_name); CPython's own cure, preloading "__main__" in
    the fork server, never gets the main's path there (3.11)."""
    main = sys.modules["__main__"]
    with _starting:
        spec = getattr(main, "__spec__", None)
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
        try:
            yield
        finally:
            main.__spec__ = spec


def _child(
    conn: Connection,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    memory_mb: int,
) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send(("ok", func(*args, **kwargs)))
    except CollectionError as exc:
        conn.send(("error", (type(exc).__name__, exc.message, exc.message_en)))
    except MemoryError:
        conn.send(("memory", None))
    except BaseException:
        conn.send(("crash", traceback.format_exc(limit=5)))
    finally:
        conn.close()


def run_limited(
    func: Callable[..., T], *args: Any, timeout: float, memory_mb: int, **kwargs: Any
) -> T:
    """``func(*args, **kwargs)`` in a child process; InvalidInput if it crashes, hangs or runs
    out of memory."""
    parent, child = _context.Pipe(duplex=False)
    process = _context.Process(
        target=_child, args=(child, func, args, kwargs, memory_mb), daemon=True
    )
    with _main_left_alone():
        process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise InvalidInput(
                f"Tệp không xử lý được trong {timeout:.0f} giây (có thể bị hỏng).",
                message_en=f"parsing took longer than {timeout:.0f} s",
            )
        kind, payload = parent.recv()
    except EOFError:
        process.join(5)
        raise InvalidInput(
            "Tệp bị hỏng: chương trình đọc tệp đã dừng đột ngột.",
            message_en=f"the parser died (exit code {process.exitcode})",
        ) from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
    if kind == "ok":
        result: T = payload
        return result
    if kind == "error":
        name, message, message_en = payload
        error_type = {cls.__name__: cls for cls in _error_types()}.get(name, InvalidInput)
        raise error_type(message, message_en=message_en)
    if kind == "memory":
        raise InvalidInput(
            f"Tệp cần quá nhiều bộ nhớ để đọc (giới hạn {memory_mb} MB).",
            message_en=f"parsing needs more than {memory_mb} MB",
        )
    raise InvalidInput("Tệp bị hỏng hoặc không đọc được.", message_en=f"parser failed: {payload}")


def warm() -> None:
    """Start the fork server now (it imports the parsers: ~0.7 s) rather than in the first job:
    a worker does this at start, so an upload's first stage starts in milliseconds."""
    run_limited(_nothing, timeout=60, memory_mb=512)


def _nothing() -> None:
    return None


def _error_types() -> list[type[CollectionError]]:
    def walk(cls: type[CollectionError]) -> list[type[CollectionError]]:
        return [cls, *[c for sub in cls.__subclasses__() for c in walk(sub)]]

    return walk(CollectionError)
