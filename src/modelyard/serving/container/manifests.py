"""The Kubernetes manifests of a build: a Deployment (readiness, liveness and startup probes
on the protocol's health routes, a read-only root filesystem with emptyDirs at /tmp and at
``STATE``, resources, Prometheus' annotations), a Service, a HorizontalPodAutoscaler and, on
request, a KServe InferenceService running the same image. Plain data, written as YAML by
``build``; nothing here reads the model."""

from __future__ import annotations

from typing import Any

from modelyard.serving.container.options import PORT, STATE, UID, BuildOptions

Doc = dict[str, Any]


def manifests(name: str, image: str, options: BuildOptions) -> dict[str, Doc]:
    """The documents by kind: ``deployment``, ``service``, ``hpa`` (and ``inferenceservice``
    with ``options.kserve``)."""
    label = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "modelyard"}
    out = {
        "deployment": _deployment(name, label, _container(image), options),
        "service": _service(name, label),
        "hpa": _autoscaler(name, label, options),
    }
    if options.kserve:
        out["inferenceservice"] = _inference_service(name, label, image, options)
    return out


def _container(image: str) -> Doc:
    return {
        "name": "server",
        "image": image,
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "startupProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 60,
        },
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"memory": "2Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": UID,
            "capabilities": {"drop": ["ALL"]},
        },
        # the store the prediction log ships to: set it (a server's URL); left empty, the
        # predictions stay in the pod (an embedded store under STATE) and are lost with it
        "env": [{"name": "MODELYARD_TRACKING_URI", "value": ""}],
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
            {"name": "state", "mountPath": STATE},  # HOME and the prediction log
        ],
    }


def _deployment(name: str, label: dict[str, str], container: Doc, options: BuildOptions) -> Doc:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": label},
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {
                    "labels": label,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    # SIGTERM drains requests in flight (up to 30 s) before the pod goes
                    "terminationGracePeriodSeconds": 40,
                    "containers": [container],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {}},
                        {"name": "state", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def _service(name: str, label: dict[str, str]) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": label},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def _autoscaler(name: str, label: dict[str, str], options: BuildOptions) -> Doc:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": label},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": options.replicas,
            "maxReplicas": options.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": options.cpu_target},
                    },
                }
            ],
        },
    }


def _inference_service(name: str, label: dict[str, str], image: str, options: BuildOptions) -> Doc:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": label},
        "spec": {
            "predictor": {
                "minReplicas": options.replicas,
                "maxReplicas": options.max_replicas,
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": image,
                        "ports": [{"containerPort": PORT, "protocol": "TCP"}],
                        "env": [
                            {"name": "PROTOCOL", "value": "v2"},
                            {"name": "MODELYARD_TRACKING_URI", "value": ""},
                        ],
                    }
                ],
            }
        },
    }
