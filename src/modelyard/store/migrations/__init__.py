"""modelyard.store.migrations."""
