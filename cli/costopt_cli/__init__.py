"""costopt's command-line tool: every call goes to the HTTP API (``--url``), never to costopt's code.

It imports neither the ``costopt`` package nor ``local``: it works the same against the local stack and
against a deployed API Gateway.
"""

__version__ = "0.1.0"
