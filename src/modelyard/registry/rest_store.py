"""The registry store as a client of a modelyard server: one REST store per feature, composed.

Composition only; each feature's calls are in ``rest_models`` (models, versions),
``rest_governance`` (aliases, policies, approvals), ``rest_webhooks`` (webhooks, audit) and
``rest_deployments``. Every rule is enforced by the server's SQL stores, and errors come back as
the classes an embedded caller sees.
"""

from __future__ import annotations

from modelyard.registry.rest_deployments import RestDeployments
from modelyard.registry.rest_governance import RestAliases, RestApprovals, RestPolicies
from modelyard.registry.rest_models import RestModels, RestVersions
from modelyard.registry.rest_webhooks import RestAudit, RestWebhooks
from modelyard.registry.store import RegistryStore
from modelyard.store.rest import HttpTransport


class RestRegistryStore(RegistryStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http
        super().__init__(
            models=RestModels(http),
            versions=RestVersions(http),
            aliases=RestAliases(http),
            policies=RestPolicies(http),
            approvals=RestApprovals(http),
            webhooks=RestWebhooks(http),
            deployments=RestDeployments(http),
            audit=RestAudit(http),
        )
