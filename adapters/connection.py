"""How the adapters' own processes and clients reach NATS from a :class:`NatsEndpoint`."""

from __future__ import annotations

import ssl

from engines.context import NatsEndpoint


def tls_context(endpoint: NatsEndpoint) -> ssl.SSLContext | None:
    """TLS when the endpoint names a CA or a client certificate (as the gateway's link does)."""
    if endpoint.tls_ca is None and endpoint.tls_cert is None:
        return None
    context = ssl.create_default_context(cafile=endpoint.tls_ca)
    if endpoint.tls_cert is not None:
        context.load_cert_chain(endpoint.tls_cert, endpoint.tls_key)
    return context
