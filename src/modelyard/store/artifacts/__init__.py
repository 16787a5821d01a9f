"""modelyard.store.artifacts."""
