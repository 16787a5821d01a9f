"""The wire: Open Inference Protocol messages (REST and gRPC), MLflow's payloads, request
bodies, a model's configuration and feedback labels, decoded and checked. No model runs here."""
