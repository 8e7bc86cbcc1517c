"""`python -m taps.web_experiments`: the same command line as `tap-web-experiments`."""

from taps.web_experiments.tap import TapWebExperiments

TapWebExperiments.cli()
