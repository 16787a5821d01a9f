"""Registered models and their versions as a client of a modelyard server (``/api/v1/registry``).

Thin: every rule is enforced by the server's SQL stores, and errors come back as the classes an
embedded caller sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from modelyard.registry.entities import ModelVersion, NewModelVersion, RegisteredModel
from modelyard.registry.names import check_alias
from modelyard.registry.rest_paths import BASE, model_path, params, version_path
from modelyard.registry.store import ModelStore, VersionStore
from modelyard.store.rest import HttpTransport


class RestModels(ModelStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create(
        self,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": tags or {}, "project": project}
        return RegisteredModel.from_dict(self.http.request("POST", f"{BASE}/models", json=body))

    def get(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        query = {"include_deleted": include_deleted}
        return RegisteredModel.from_dict(self.http.request("GET", model_path(name), params=query))

    def search(
        self,
        filter_string: str | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        query = params(
            filter=filter_string,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )
        got = self.http.request("GET", f"{BASE}/models", params=query)
        return [RegisteredModel.from_dict(m) for m in got["models"]], got["next_page_token"]

    def update(self, name: str, description: str | None) -> RegisteredModel:
        got = self.http.request("PATCH", model_path(name), json={"description": description})
        return RegisteredModel.from_dict(got)

    def set_tag(self, name: str, key: str, value: str) -> None:
        self.http.request("PUT", f"{model_path(name)}/tags", json={"key": key, "value": value})

    def delete_tag(self, name: str, key: str) -> None:
        self.http.request("DELETE", f"{model_path(name)}/tags/{quote(key, safe='')}")

    def delete(self, name: str) -> None:
        self.http.request("DELETE", model_path(name))

    def restore(self, name: str) -> None:
        self.http.request("POST", f"{model_path(name)}/restore")


class RestVersions(VersionStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create(self, draft: NewModelVersion) -> ModelVersion:
        got = self.http.request("POST", f"{BASE}/versions", json=draft.to_dict())
        return ModelVersion.from_dict(got)

    def get(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        at: int | None = None,
        include_deleted: bool = False,
    ) -> ModelVersion:
        if alias is None and version is not None:
            query = {"include_deleted": include_deleted}
            got = self.http.request("GET", version_path(name, version), params=query)
        else:
            if alias is not None:
                check_alias(alias)
            query = params(alias=alias, at=at)
            got = self.http.request("GET", f"{model_path(name)}/version", params=query)
        return ModelVersion.from_dict(got)

    def search(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        query = params(
            filter=filter_string,
            order_by=list(order_by) if order_by else None,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )
        got = self.http.request("GET", f"{BASE}/versions", params=query)
        return [ModelVersion.from_dict(v) for v in got["versions"]], got["next_page_token"]

    def update(self, name: str, version: int, description: str | None) -> ModelVersion:
        body = {"description": description}
        return ModelVersion.from_dict(
            self.http.request("PATCH", version_path(name, version), json=body)
        )

    def set_tag(self, name: str, version: int, key: str, value: str) -> None:
        path = f"{version_path(name, version)}/tags"
        self.http.request("PUT", path, json={"key": key, "value": value})

    def delete_tag(self, name: str, version: int, key: str) -> None:
        self.http.request("DELETE", f"{version_path(name, version)}/tags/{quote(key, safe='')}")

    def delete(self, name: str, version: int) -> None:
        self.http.request("DELETE", version_path(name, version))

    def restore(self, name: str, version: int) -> None:
        self.http.request("POST", f"{version_path(name, version)}/restore")

    def set_card(self, name: str, version: int | None, sections: dict[str, str]) -> None:
        path = model_path(name) if version is None else version_path(name, version)
        self.http.request("PUT", f"{path}/card", json={"sections": sections})
