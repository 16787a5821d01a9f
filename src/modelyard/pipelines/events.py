"""What a trigger watches: events read from the other domains' stores (new dataset versions,
new model versions, alias moves, alerts opened). The server composes the sources (it knows
every domain); the pipelines domain only reads them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    id: str  # unique among the events of its trigger: the run it starts is named from it
    time: int  # epoch ms it happened
    description: str  # the run's trigger: "dataset churn-train version 4"


# (the trigger as stored: {"kind", "target", options...}, events after this epoch ms) ->
# the events, oldest first
EventSource = Callable[[dict[str, Any], int], list[Event]]
