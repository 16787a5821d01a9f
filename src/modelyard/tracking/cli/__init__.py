"""modelyard.tracking.cli."""
