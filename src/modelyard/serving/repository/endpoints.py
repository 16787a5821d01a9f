"""Endpoints: the names clients call, each in front of one or more served versions.

A plain ``modelyard serve URI`` makes an endpoint with one route. ``--route URI=WEIGHT``
(repeated) splits traffic by weight: at random, or by a hash of a sticky header (a user id,
say) so that one caller stays on one route. ``/versions/{v}`` on the endpoint addresses a
route directly. Shadows get every request's input after the answer is sent; their results
are compared with the answer, logged and counted, and never returned.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field


@dataclass
class Endpoint:
    name: str
    routes: list[tuple[str, int]]  # (model key, weight)
    shadows: list[str] = field(default_factory=list)  # model keys
    sticky_header: bytes | None = None

    def __post_init__(self) -> None:
        self.total = sum(w for _, w in self.routes)

    def pick(self, headers: dict[bytes, bytes]) -> str:
        """The model key for a request: by weight, sticky when the header is present."""
        if len(self.routes) == 1:
            return self.routes[0][0]
        key = headers.get(self.sticky_header) if self.sticky_header else None
        if key:
            point = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % self.total
        else:
            point = random.randrange(self.total)
        for model, weight in self.routes:
            if point < weight:
                return model
            point -= weight
        return self.routes[-1][0]
