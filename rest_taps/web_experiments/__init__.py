"""tap-web-experiments: Singer tap for the web-experiments API."""
