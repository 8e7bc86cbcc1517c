"""tap-crm-helpdesk: a Singer tap for a CRM and helpdesk API."""
