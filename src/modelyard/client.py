"""``modelyard.Client``: one client for tracking and the model registry.

It holds a tracking client (``.tracking``, ``tracking.client.Client``) and a registry client
(``.registry``, ``registry.client.RegistryClient``) on the same store (embedded or a server),
and offers every public method of both flat, with their own signatures and docstrings
(``platform.forwarding.Forward``; ``tests/unit/test_client_surface.py`` checks none is
missing). A registry call first settles the tracking client's writes, so it sees the runs this
client logged. Model cards and lineage, which draw on every domain, are assembled here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from modelyard.config import Settings
from modelyard.platform.forwarding import Forward
from modelyard.registry.client import RegistryClient
from modelyard.tracking.client import Client as TrackingClient

if TYPE_CHECKING:
    from typing import Concatenate

    from modelyard.data.entities import LineageEdge
    from modelyard.models.cards import ModelCard

P = ParamSpec("P")
R = TypeVar("R")


def _tracking(method: Callable[Concatenate[TrackingClient, P], R]) -> Forward[TrackingClient, P, R]:
    return Forward("tracking", method)


def _registry(method: Callable[Concatenate[RegistryClient, P], R]) -> Forward[RegistryClient, P, R]:
    return Forward("registry", method)


class Client:
    """Tracking and registry client. ``tracking_uri`` defaults to the one set with
    ``set_tracking_uri``, then ``MODELYARD_TRACKING_URI``, then ``./modelyard-data``."""

    def __init__(self, tracking_uri: str | None = None, *, settings: Settings | None = None):
        self.tracking = TrackingClient(tracking_uri, settings=settings)
        self.settings = self.tracking.settings
        self.tracking_uri = self.tracking.tracking_uri
        self.remote = self.tracking.remote
        # a registry call sees this client's run writes (a source run): settle them first
        settle = self.tracking._settle
        self.registry = RegistryClient(self.tracking_uri, settings=self.settings, settle=settle)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def spooled_batches(self) -> int:
        """Batches this client wrote to the local spool because the server was unreachable."""
        return self.tracking.spooled_batches

    # --- across domains -----------------------------------------------------------------
    def model_card(self, name: str, version: int | None = None) -> ModelCard:
        """The card of a version (the latest when ``version`` is None): ``.to_markdown()``,
        ``.to_html()``."""
        from modelyard.models.cards import build_card

        return build_card(self, name, version)

    def model_lineage(self, name: str, version: int, *, depth: int = 5) -> list[LineageEdge]:
        """Lineage around a model version: its training run, that run's datasets, ..."""
        from modelyard.data.client import DataClient

        found = self.get_version(name, version)
        data = DataClient(self.tracking_uri, settings=self.settings)
        return data.lineage(f"model_version:{found.version_id}", depth=depth)

    # --- tracking: lifecycle and experiments --------------------------------------------
    flush = _tracking(TrackingClient.flush)
    close = _tracking(TrackingClient.close)
    create_experiment = _tracking(TrackingClient.create_experiment)
    get_experiment = _tracking(TrackingClient.get_experiment)
    get_experiment_by_name = _tracking(TrackingClient.get_experiment_by_name)
    offline_experiment = _tracking(TrackingClient.offline_experiment)
    search_experiments = _tracking(TrackingClient.search_experiments)
    rename_experiment = _tracking(TrackingClient.rename_experiment)
    delete_experiment = _tracking(TrackingClient.delete_experiment)
    restore_experiment = _tracking(TrackingClient.restore_experiment)
    set_experiment_tag = _tracking(TrackingClient.set_experiment_tag)

    # --- tracking: runs -----------------------------------------------------------------
    create_run = _tracking(TrackingClient.create_run)
    log_metric = _tracking(TrackingClient.log_metric)
    log_param = _tracking(TrackingClient.log_param)
    set_tag = _tracking(TrackingClient.set_tag)
    delete_tag = _tracking(TrackingClient.delete_tag)
    log_batch = _tracking(TrackingClient.log_batch)
    update_run = _tracking(TrackingClient.update_run)
    set_terminated = _tracking(TrackingClient.set_terminated)
    delete_run = _tracking(TrackingClient.delete_run)
    restore_run = _tracking(TrackingClient.restore_run)
    get_run = _tracking(TrackingClient.get_run)
    get_metric_history = _tracking(TrackingClient.get_metric_history)
    search_runs = _tracking(TrackingClient.search_runs)
    search_all_runs = _tracking(TrackingClient.search_all_runs)

    # --- tracking: artifacts ------------------------------------------------------------
    log_artifact = _tracking(TrackingClient.log_artifact)
    log_artifacts = _tracking(TrackingClient.log_artifacts)
    log_bytes = _tracking(TrackingClient.log_bytes)
    log_text = _tracking(TrackingClient.log_text)
    log_dict = _tracking(TrackingClient.log_dict)
    log_table = _tracking(TrackingClient.log_table)
    log_figure = _tracking(TrackingClient.log_figure)
    list_artifacts = _tracking(TrackingClient.list_artifacts)
    artifact_info = _tracking(TrackingClient.artifact_info)
    read_artifact = _tracking(TrackingClient.read_artifact)
    download_artifacts = _tracking(TrackingClient.download_artifacts)

    # --- registry: models and versions --------------------------------------------------
    create_registered_model = _registry(RegistryClient.create_registered_model)
    get_registered_model = _registry(RegistryClient.get_registered_model)
    search_registered_models = _registry(RegistryClient.search_registered_models)
    update_registered_model = _registry(RegistryClient.update_registered_model)
    set_registered_model_tag = _registry(RegistryClient.set_registered_model_tag)
    delete_registered_model_tag = _registry(RegistryClient.delete_registered_model_tag)
    delete_registered_model = _registry(RegistryClient.delete_registered_model)
    restore_registered_model = _registry(RegistryClient.restore_registered_model)
    create_model_version = _registry(RegistryClient.create_model_version)
    get_version = _registry(RegistryClient.get_version)
    get_model_version = _registry(RegistryClient.get_model_version)
    resolve_model_uri = _registry(RegistryClient.resolve_model_uri)
    search_model_versions = _registry(RegistryClient.search_model_versions)
    search_model_versions_page = _registry(RegistryClient.search_model_versions_page)
    update_model_version = _registry(RegistryClient.update_model_version)
    set_model_version_tag = _registry(RegistryClient.set_model_version_tag)
    delete_model_version_tag = _registry(RegistryClient.delete_model_version_tag)
    delete_model_version = _registry(RegistryClient.delete_model_version)
    restore_model_version = _registry(RegistryClient.restore_model_version)
    set_model_card = _registry(RegistryClient.set_model_card)

    # --- registry: aliases and governance -----------------------------------------------
    set_alias = _registry(RegistryClient.set_alias)
    delete_alias = _registry(RegistryClient.delete_alias)
    get_alias_history = _registry(RegistryClient.get_alias_history)
    get_alias_history_page = _registry(RegistryClient.get_alias_history_page)
    set_alias_policy = _registry(RegistryClient.set_alias_policy)
    list_alias_policies = _registry(RegistryClient.list_alias_policies)
    delete_alias_policy = _registry(RegistryClient.delete_alias_policy)
    request_approval = _registry(RegistryClient.request_approval)
    approve = _registry(RegistryClient.approve)
    reject = _registry(RegistryClient.reject)
    cancel_approval = _registry(RegistryClient.cancel_approval)
    get_approval_request = _registry(RegistryClient.get_approval_request)
    list_approval_requests = _registry(RegistryClient.list_approval_requests)
    list_approval_requests_page = _registry(RegistryClient.list_approval_requests_page)

    # --- registry: audit, webhooks, deployments -----------------------------------------
    audit_log = _registry(RegistryClient.audit_log)
    verify_audit = _registry(RegistryClient.verify_audit)
    create_webhook = _registry(RegistryClient.create_webhook)
    list_webhooks = _registry(RegistryClient.list_webhooks)
    delete_webhook = _registry(RegistryClient.delete_webhook)
    webhook_deliveries = _registry(RegistryClient.webhook_deliveries)
    deliver_webhooks = _registry(RegistryClient.deliver_webhooks)
    create_deployment = _registry(RegistryClient.create_deployment)
    get_deployment = _registry(RegistryClient.get_deployment)
    list_deployments = _registry(RegistryClient.list_deployments)
    update_deployment = _registry(RegistryClient.update_deployment)
    delete_deployment = _registry(RegistryClient.delete_deployment)
