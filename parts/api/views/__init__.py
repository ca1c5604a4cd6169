"""The parts family (``/parts-api/{enterpriseId}/{storeId}/v1/``): seed 002's parts orders and seed 003's
catalogue, price & availability, one module per resource. Views are thin: a request serializer checks
the request (its shape, then the dealer's rules), a selector or service answers, a builder of
:mod:`parts.api.representations` makes the body. Every error answers in seed 002's shape."""
