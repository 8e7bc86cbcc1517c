"""The Singer SDK's own test suite, against the built-in sandbox and against a sandbox
whose values drift from their documented types."""

from singer_sdk.testing import get_tap_test_class

from rest_taps.pipeline_crm.tap import TapPipelineCrm
from tests.support import drift_config

TestTapPipelineCrm = get_tap_test_class(TapPipelineCrm, config={"sandbox": True})
TestTapPipelineCrmDrift = get_tap_test_class(TapPipelineCrm, config=drift_config("pipeline_crm"))
