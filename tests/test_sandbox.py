"""The parsing sandbox: a parser that hangs, crashes or eats memory fails that call with a clear
error, and the calling process (the worker) goes on."""

from __future__ import annotations

import os
import signal
import time

import pytest

from collection.errors import InvalidInput
from collection.ingest.sandbox import run_limited


def _hang(seconds: float) -> None:  # a parser stuck in a loop on a hostile file
    time.sleep(seconds)


def _crash() -> None:  # a parser hitting a segfault in C code
    os.kill(os.getpid(), signal.SIGSEGV)


def _gobble() -> bytearray:
    return bytearray(4 * 1024 * 1024 * 1024)  # 4 GB


def _pid() -> int:
    return os.getpid()


def test_a_hanging_parser_is_stopped_and_the_worker_goes_on() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        run_limited(_hang, 600, timeout=1, memory_mb=512)
    assert "không xử lý được trong 1 giây" in caught.value.message
    assert time.monotonic() - started < 60  # not the 600 s the parser wanted
    assert run_limited(_pid, timeout=30, memory_mb=512) != os.getpid()  # next call works


def test_a_crashing_parser_fails_the_call_not_the_worker() -> None:
    with pytest.raises(InvalidInput) as caught:
        run_limited(_crash, timeout=30, memory_mb=512)
    assert "dừng đột ngột" in caught.value.message
    assert run_limited(_pid, timeout=30, memory_mb=512) > 0


def test_a_parser_over_its_memory_limit_fails_clearly() -> None:
    with pytest.raises(InvalidInput) as caught:
        run_limited(_gobble, timeout=30, memory_mb=512)
    assert "quá nhiều bộ nhớ" in caught.value.message
