"""tap-error-tracking: the error-tracking API of seed 004."""
