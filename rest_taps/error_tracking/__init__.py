"""tap-error-tracking: Singer tap for the error-tracking API."""
