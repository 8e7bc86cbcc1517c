"""`python -m rest_taps.pipeline_crm`: the same command line as `tap-pipeline-crm`."""

from rest_taps.pipeline_crm.tap import TapPipelineCrm

TapPipelineCrm.cli()
