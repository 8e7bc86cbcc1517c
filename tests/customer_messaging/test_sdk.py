"""The Singer SDK's own test suite, against the built-in sandbox."""

from singer_sdk.testing import get_tap_test_class

from taps.customer_messaging.tap import TapCustomerMessaging

TestTapCustomerMessaging = get_tap_test_class(TapCustomerMessaging, config={"sandbox": True})
