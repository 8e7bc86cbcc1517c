"""`python -m taps.pipeline_crm`: the same command line as `tap-pipeline-crm`."""

from taps.pipeline_crm.tap import TapPipelineCrm

TapPipelineCrm.cli()
