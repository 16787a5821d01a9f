"""The fluent API's backend: remembered for a URI set with set_tracking_uri, never stale —
a new URI, or the backend closed by forget(), gives a new one."""

from __future__ import annotations

from pathlib import Path

import modelyard as yard
from modelyard.platform import backends
from modelyard.platform.current import current_backend


def test_the_current_backend_follows_the_uri_and_forget(tmp_path: Path) -> None:
    yard.set_tracking_uri(f"sqlite:///{tmp_path}/a.db")
    first = current_backend()
    assert current_backend() is first and not first.closed
    yard.set_tracking_uri(f"sqlite:///{tmp_path}/b.db")
    second = current_backend()
    assert second is not first and second.uri.endswith("b.db")
    backends.forget()
    assert second.closed
    third = current_backend()
    assert third is not second and not third.closed and third.uri.endswith("b.db")
