"""``reset()``: forget everything this process holds between uses, in one call.

Process-wide state lives in a few places: the chosen URI (``current``) and the backend cache
(``backends``, holding every domain's stores and fluent clients) here in the platform, and
domain state the platform cannot import (tracking's active runs, fluent experiment and
background writers). A domain module hands its part to ``on_reset`` when it is imported; the
platform never learns what it holds. Tests call ``reset()`` after each case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from modelyard.platform import backends, current

_hooks: list[Callable[[], None]] = []
_lock = threading.Lock()


def on_reset(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` at every ``reset()`` (once, however often it is registered)."""
    with _lock:
        if hook not in _hooks:
            _hooks.append(hook)
    return hook


def reset() -> None:
    """End and forget the process's state: every domain's hook, the last registered first (as
    ``atexit`` does: a module's hook runs before those of the modules it imports, so active
    runs end before their writers close), then the chosen URI and every cached backend. Every
    step runs; the first error is raised after the last."""
    with _lock:
        hooks = list(reversed(_hooks))
    steps = [*hooks, _forget_chosen_uri, backends.forget]
    failure: BaseException | None = None
    for step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the other steps still run; raised after
            failure = failure or exc
    if failure is not None:
        raise failure


def _forget_chosen_uri() -> None:
    current.set_uri(None)
