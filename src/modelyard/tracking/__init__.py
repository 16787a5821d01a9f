"""modelyard.tracking."""
