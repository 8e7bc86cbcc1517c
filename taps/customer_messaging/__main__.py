"""`python -m taps.customer_messaging`: the same command line as `tap-customer-messaging`."""

from taps.customer_messaging.tap import TapCustomerMessaging

TapCustomerMessaging.cli()
