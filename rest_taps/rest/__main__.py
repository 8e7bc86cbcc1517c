"""`python -m rest_taps.rest`: the same command line as `tap-rest`."""

from rest_taps.rest.tap import TapRest

TapRest.cli()
