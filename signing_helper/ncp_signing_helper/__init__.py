"""ncp-signing-helper: temporary NCP API keys for a workload outside the platform that holds an X.509 certificate.

It signs ``POST /auth/v1/sessions`` with the certificate's private key (``signer``, ``session``) and hands the keys
out the ways NCP's tools read them: the credential-process JSON on stdout, a local metadata endpoint (``metadata``)
and ``~/.ncloud/configure`` (``configure``). It needs nothing but ``cryptography`` and the standard library: no
Django, nothing of the server's packages.
"""

__version__ = "0.1.0"
