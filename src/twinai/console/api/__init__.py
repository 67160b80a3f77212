"""REST API: per-user tokens, batch prediction, model bundles, OpenAPI schema."""
