"""What a serving process serves and how that changes while requests flow: the fleet of
models and the endpoints in front of them, hot swaps, deployments followed, model control."""
