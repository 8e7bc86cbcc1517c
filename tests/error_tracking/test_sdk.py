"""The Singer SDK's own test suite, against the built-in sandbox."""

from singer_sdk.testing import get_tap_test_class

from taps.error_tracking.tap import TapErrorTracking

TestTapErrorTracking = get_tap_test_class(TapErrorTracking, config={"sandbox": True})
