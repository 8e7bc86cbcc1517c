"""`python -m rest_taps.error_tracking`: the same command line as `tap-error-tracking`."""

from rest_taps.error_tracking.tap import TapErrorTracking

TapErrorTracking.cli()
