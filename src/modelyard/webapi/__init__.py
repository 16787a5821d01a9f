"""HTTP plumbing shared by every domain's routers: JSON, body limits, error mapping."""
