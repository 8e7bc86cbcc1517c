"""The Singer SDK's own test suite, against the built-in sandbox."""

from singer_sdk.testing import get_tap_test_class

from taps.pipeline_crm.tap import TapPipelineCrm

TestTapPipelineCrm = get_tap_test_class(TapPipelineCrm, config={"sandbox": True})
