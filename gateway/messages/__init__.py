"""Message Structs shared by the gateway, the engines and the adapters.

This package is the one schema source for REST bodies and NATS payloads. It imports only
msgspec and the standard library, so engines and adapters can import it without pulling
in the web stack or the database (a test guards this).

Schema evolution: new fields get defaults, nothing is retyped, and a breaking change means a
new versioned path or subject.
"""
