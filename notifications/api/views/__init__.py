"""The notification family (``/notification/v1/``): subscriptions and the delivery log, one module per
resource. Views are thin: a request serializer checks the request (its shape, then the subscription's
rules), a selector or service answers, :mod:`notifications.api.representations` makes the body. Every
error answers in seed 002's shape; another partner's subscription or delivery answers the 404 of a missing
one."""
