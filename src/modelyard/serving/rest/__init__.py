"""The inference server over REST: the router that reads the app's route table, and the
handlers it calls, one module per resource. Plain ASGI, no framework on the hot path."""
