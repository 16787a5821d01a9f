"""The prediction log: predictions and labels appended to local segment files off the hot
path, then shipped to the store by a process of its own."""
