"""The Singer SDK's own test suite, against the built-in sandbox and against a sandbox
whose values drift from their documented types."""

from singer_sdk.testing import get_tap_test_class

from rest_taps.crm_helpdesk.tap import TapCrmHelpdesk
from tests.support import drift_config

TestTapCrmHelpdesk = get_tap_test_class(TapCrmHelpdesk, config={"sandbox": True})
TestTapCrmHelpdeskDrift = get_tap_test_class(TapCrmHelpdesk, config=drift_config("crm_helpdesk"))
