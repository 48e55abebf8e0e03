"""``python -m ncp_signing_helper``: the same as the ``ncp-signing-helper`` command."""

import sys

from ncp_signing_helper.cli import main

sys.exit(main())
