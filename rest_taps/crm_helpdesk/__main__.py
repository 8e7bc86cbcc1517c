"""`python -m rest_taps.crm_helpdesk`: the same command line as `tap-crm-helpdesk`."""

from rest_taps.crm_helpdesk.tap import TapCrmHelpdesk

TapCrmHelpdesk.cli()
