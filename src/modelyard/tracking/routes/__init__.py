"""modelyard.tracking.routes."""
