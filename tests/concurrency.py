"""Threads for the concurrency tests: each runs `target(*args)`; what one raises is kept and
reported to the test thread by `join`, so a failing worker fails the test instead of
printing a traceback nobody reads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class Workers:
    """Threads started together and joined together, their errors asserted on join."""

    def __init__(
        self,
        target: Callable[..., Any],
        args_each: Iterable[Sequence[Any]],
        *,
        on_error: Callable[[], Any] | None = None,
    ) -> None:
        self.errors: list[BaseException] = []

        def run(*args: Any) -> None:
            try:
                target(*args)
            except BaseException as exc:  # surfaced by join()
                self.errors.append(exc)
                if on_error is not None:
                    on_error()  # e.g. release the others from a barrier

        self.threads = [threading.Thread(target=run, args=tuple(a)) for a in args_each]

    def start(self) -> Workers:
        for thread in self.threads:
            thread.start()
        return self

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def join(self, timeout: float | None = 120) -> None:
        for thread in self.threads:
            thread.join(timeout=timeout)
        assert not self.alive(), "a worker thread did not finish"
        assert not self.errors, self.errors


def run_together(
    target: Callable[..., Any],
    args_each: Iterable[Sequence[Any]],
    *,
    on_error: Callable[[], Any] | None = None,
) -> None:
    """Run `target` once per argument tuple, each in its own thread, and wait for all."""
    Workers(target, args_each, on_error=on_error).start().join()


def wait_for(condition: Callable[[], bool], message: str) -> None:
    """Until `condition()` holds, for at most 10 s (then fail with `message`)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)
