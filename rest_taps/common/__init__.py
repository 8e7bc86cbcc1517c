"""The shared base of the taps: settings, auth, retries, pagination, redaction, sandbox."""
