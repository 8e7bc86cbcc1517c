"""`python -m rest_taps.web_experiments`: the same command line as `tap-web-experiments`."""

from rest_taps.web_experiments.tap import TapWebExperiments

TapWebExperiments.cli()
