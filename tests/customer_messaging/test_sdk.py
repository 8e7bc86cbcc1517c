"""The Singer SDK's own test suite, against the built-in sandbox and against a sandbox
whose values drift from their documented types."""

from singer_sdk.testing import get_tap_test_class

from rest_taps.customer_messaging.tap import TapCustomerMessaging
from tests.support import drift_config

TestTapCustomerMessaging = get_tap_test_class(TapCustomerMessaging, config={"sandbox": True})
TestTapCustomerMessagingDrift = get_tap_test_class(
    TapCustomerMessaging, config=drift_config("customer_messaging")
)
