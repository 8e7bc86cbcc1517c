"""`python -m rest_taps.customer_messaging`: the same command line as `tap-customer-messaging`."""

from rest_taps.customer_messaging.tap import TapCustomerMessaging

TapCustomerMessaging.cli()
