"""The dataset and blob stores as clients of a modelyard server (``/api/v1/datasets``).

Thin: every rule is enforced by the server's SQL store; errors come back as the same
``ModelyardError`` classes an embedded caller sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from modelyard.data.entities import (
    DatasetInfo,
    DatasetVersion,
    LineageEdge,
    LineageNode,
    NewVersion,
)
from modelyard.data.manifest import check_manifest, check_sha256
from modelyard.data.store import (
    DATASETS_PAGE_DEFAULT,
    EDGES_PAGE_DEFAULT,
    VERSIONS_PAGE_DEFAULT,
    BlobStore,
    DatasetStore,
)
from modelyard.store.rest import HttpTransport

BASE = "/api/v1/datasets"


def _node(data: dict[str, Any]) -> LineageNode:
    return LineageNode(data["type"], data["id"], data["label"])


def _page(limit: int, page_token: str | None) -> dict[str, Any]:
    """The query parameters of one page."""
    return {"limit": limit} if page_token is None else {"limit": limit, "page_token": page_token}


def _checked(data: dict[str, Any]) -> DatasetVersion:
    """A version as the server sent it, with its digest and file paths checked like input."""
    version = DatasetVersion.from_dict(data)
    check_sha256(version.digest, "digest")
    check_manifest(version.manifest, version.format)
    return version


class RestDatasetStore(DatasetStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create_version(
        self, draft: NewVersion, *, run_id: str | None = None, context: str | None = None
    ) -> tuple[DatasetVersion, bool]:
        body = {**draft.to_dict(), "run_id": run_id, "context": context}
        got = self.http.request("POST", f"{BASE}/versions", json=body)
        return _checked(got["version"]), bool(got["created"])

    def get_version(
        self, name: str, version: int | None = None, digest: str | None = None
    ) -> DatasetVersion:
        params: dict[str, Any] = {"name": name}
        if version is not None:
            params["version"] = version
        if digest is not None:
            params["digest"] = digest
        return _checked(self.http.request("GET", f"{BASE}/version", params=params))

    def list_datasets_page(
        self, *, limit: int = DATASETS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetInfo], str | None]:
        got = self.http.request("GET", BASE, params=_page(limit, page_token))
        return [DatasetInfo(**d) for d in got["datasets"]], got["next_page_token"]

    def list_versions_page(
        self, name: str, *, limit: int = VERSIONS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetVersion], str | None]:
        params = {"name": name, **_page(limit, page_token)}
        got = self.http.request("GET", f"{BASE}/versions", params=params)
        return [_checked(v) for v in got["versions"]], got["next_page_token"]

    def set_expectations(self, name: str, version: int, suite_yaml: str | None) -> DatasetVersion:
        body = {"name": name, "version": version, "expectations": suite_yaml}
        return _checked(self.http.request("PUT", f"{BASE}/expectations", json=body))

    def delete_version(self, name: str, version: int, *, force: bool = False) -> int:
        params = {"name": name, "version": version, "force": str(force).lower()}
        got = self.http.request("DELETE", f"{BASE}/version", params=params)
        return int(got["edges_deleted"])

    def link(
        self, name: str, version: int, run_id: str, *, relation: str, context: str | None
    ) -> None:
        body = {
            "name": name,
            "version": version,
            "run_id": run_id,
            "relation": relation,
            "context": context,
        }
        self.http.request("POST", f"{BASE}/links", json=body)

    def edges_page(
        self,
        node_type: str,
        node_id: str,
        *,
        limit: int = EDGES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[LineageEdge], str | None]:
        params = {"type": node_type, "id": node_id, **_page(limit, page_token)}
        got = self.http.request("GET", "/api/v1/lineage/edges", params=params)
        found = [
            LineageEdge(_node(e["source"]), _node(e["target"]), e["relation"], e.get("context"))
            for e in got["edges"]
        ]
        return found, got["next_page_token"]


class RestBlobStore(BlobStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def missing(self, digests: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(digests))
        out: list[str] = []
        for start in range(0, len(wanted), 10_000):
            got = self.http.request(
                "POST",
                f"{BASE}/blobs/missing",
                json={"digests": wanted[start : start + 10_000]},
                idempotent=True,  # a read
            )
            out.extend(got["missing"])
        return out

    def put(self, sha256: str, chunks: Iterable[bytes], size: int) -> None:
        self.http.upload(f"{BASE}/blobs/{sha256}", iter(chunks), params={"size": size})

    def size(self, sha256: str) -> int:
        got = self.http.request("GET", f"{BASE}/blobs/{sha256}/size")
        return int(got["size"])

    def read(self, sha256: str) -> Iterator[bytes]:
        return self.http.download(f"{BASE}/blobs/{sha256}", params={})
