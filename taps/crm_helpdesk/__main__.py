"""`python -m taps.crm_helpdesk`: the same command line as `tap-crm-helpdesk`."""

from taps.crm_helpdesk.tap import TapCrmHelpdesk

TapCrmHelpdesk.cli()
