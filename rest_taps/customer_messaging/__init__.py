"""tap-customer-messaging: Singer tap for the customer-messaging API."""
