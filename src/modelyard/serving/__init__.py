"""modelyard.serving: the inference server (Open Inference Protocol, MLflow payloads, batching)."""
