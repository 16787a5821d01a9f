"""``modelyard build``: a container build context (the wheels, a Dockerfile) and Kubernetes
manifests for one model. Nothing here is on the request path."""
