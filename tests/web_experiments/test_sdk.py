"""The Singer SDK's own test suite, against the built-in sandbox."""

from singer_sdk.testing import get_tap_test_class

from taps.web_experiments.tap import TapWebExperiments

TestTapWebExperiments = get_tap_test_class(TapWebExperiments, config={"sandbox": True})
