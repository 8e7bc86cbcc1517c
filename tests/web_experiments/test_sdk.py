"""The Singer SDK's own test suite, against the built-in sandbox and against a sandbox
whose values drift from their documented types."""

from singer_sdk.testing import get_tap_test_class

from rest_taps.web_experiments.tap import TapWebExperiments
from tests.support import drift_config

TestTapWebExperiments = get_tap_test_class(TapWebExperiments, config={"sandbox": True})
TestTapWebExperimentsDrift = get_tap_test_class(
    TapWebExperiments, config=drift_config("web_experiments")
)
