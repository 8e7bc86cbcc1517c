"""`python -m taps.error_tracking`: the same command line as `tap-error-tracking`."""

from taps.error_tracking.tap import TapErrorTracking

TapErrorTracking.cli()
