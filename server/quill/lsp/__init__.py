"""The LSP face of Quill: the protocol, the server object, and one thin handler per feature.

``protocol`` answers every request exactly once and publishes document events
(``document_events``) that features subscribe to in ``server``, the routing table;
``language_server`` holds the server's state; ``client_features`` is what the client
declared, reduced once at ``initialize``; ``features/`` turns each method's params into a
call of ``quill.completion`` or ``quill.actions`` and the result into a response.

The top of the house: may import every other package of Quill; none imports it.
"""
