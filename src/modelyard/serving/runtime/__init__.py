"""A model being served: loaded and warmed up, its input fitted to its signature, batched,
counted; and the heap kept off the hot path."""
