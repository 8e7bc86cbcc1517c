"""The Singer SDK's own test suite, against the built-in sandbox and against a sandbox
whose values drift from their documented types."""

from singer_sdk.testing import get_tap_test_class

from rest_taps.error_tracking.tap import TapErrorTracking
from tests.support import drift_config

TestTapErrorTracking = get_tap_test_class(TapErrorTracking, config={"sandbox": True})
TestTapErrorTrackingDrift = get_tap_test_class(
    TapErrorTracking, config=drift_config("error_tracking")
)
