"""tap-pipeline-crm: Singer tap for the pipeline CRM API."""
