"""What a build is asked for (``BuildOptions``) and the image's fixed layout (its port, its
user, its one writable folder), which the Dockerfile and the manifests both follow."""

from __future__ import annotations

from dataclasses import dataclass

PORT = 8080
UID = 10001
# the server's only writable folder: HOME (caches), the prediction log and, without
# MODELYARD_TRACKING_URI, the embedded store; an emptyDir in the Deployment
STATE = "/var/lib/modelyard"


@dataclass(frozen=True)
class BuildOptions:
    image: str | None = None  # default: modelyard/<name>:<version>
    replicas: int = 2
    max_replicas: int = 10
    cpu_target: int = 70  # percent, for the autoscaler
    kserve: bool = False
    workers: int = 1
    platform: str | None = None  # linux/amd64 or linux/arm64; default: this machine's
