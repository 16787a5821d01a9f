"""The HTTP paths of the pipelines API, shared by its routes and its REST store."""

PIPELINES = "/api/v1/pipelines"
RUNS = "/api/v1/pipeline-runs"
CACHE = "/api/v1/pipeline-cache"
