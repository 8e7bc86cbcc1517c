"""The Singer SDK's own test suite, against the built-in sandbox."""

from singer_sdk.testing import get_tap_test_class

from taps.crm_helpdesk.tap import TapCrmHelpdesk

TestTapCrmHelpdesk = get_tap_test_class(TapCrmHelpdesk, config={"sandbox": True})
