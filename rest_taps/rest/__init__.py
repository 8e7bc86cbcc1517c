"""tap-rest: any REST API from its `rest_api` config."""
