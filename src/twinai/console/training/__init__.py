"""Training: datasets, background train & test jobs, model bundles."""
