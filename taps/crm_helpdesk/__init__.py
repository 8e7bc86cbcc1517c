"""tap-crm-helpdesk: the CRM and helpdesk API of seed 003."""
