"""The ``ncp-signing-helper`` command: ``credential-process``, ``serve``, ``update``, ``version`` and ``help``.

Keys go to stdout (``credential-process``), a local HTTP endpoint (``serve``) or ``~/.ncloud/configure``
(``update``); everything else, errors included, goes to stderr, and never holds a secret.
"""

from __future__ import annotations

import argparse
import json
import sys

from ncp_signing_helper import __version__
from ncp_signing_helper.errors import HelperError
from ncp_signing_helper.metadata import DEFAULT_HOST, DEFAULT_PORT
from ncp_signing_helper.session import (
    DEFAULT_DURATION_SECONDS,
    DEFAULT_ENDPOINT,
    MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    Credentials,
    SessionRequest,
)

PROG = "ncp-signing-helper"


def _duration(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if not MIN_DURATION_SECONDS <= value <= MAX_DURATION_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds, not {value}"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, not {value}")
    return value


def _credential_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("session")
    group.add_argument("--role-nrn", required=True, metavar="NRN", help="NRN of the Service role to take")
    group.add_argument(
        "--profile-nrn", required=True, metavar="NRN", help="NRN of the External Access profile that holds the role"
    )
    group.add_argument(
        "--trust-anchor-nrn", required=True, metavar="NRN", help="NRN of the trust anchor the certificate chains to"
    )
    group.add_argument(
        "--certificate",
        required=True,
        metavar="PEM",
        help="the workload's certificate (PEM or DER); further certificates in the file are sent as intermediates",
    )
    group.add_argument(
        "--private-key",
        required=True,
        metavar="PEM",
        help="the certificate's private key, RSA or EC, unencrypted (PEM or DER)",
    )
    group.add_argument(
        "--intermediates", metavar="PEM", help="intermediate CA certificates to send with it (PEM bundle)"
    )
    group.add_argument(
        "--duration-seconds",
        type=_duration,
        metavar="SECONDS",
        default=DEFAULT_DURATION_SECONDS,
        help=f"session length, {MIN_DURATION_SECONDS}-{MAX_DURATION_SECONDS} "
        f"(default {DEFAULT_DURATION_SECONDS}; the profile's own limit applies)",
    )
    group.add_argument(
        "--endpoint",
        default=DEFAULT_ENDPOINT,
        metavar="URL",
        help=f"the IAM server; the request goes to URL/auth/v1/sessions (default {DEFAULT_ENDPOINT})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Temporary NCP API keys for a workload that holds an X.509 certificate trusted by an "
        "External Access trust anchor.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("version", help="print the version")
    help_parser = commands.add_parser("help", help="show this help, or a command's")
    help_parser.add_argument("topic", nargs="?", metavar="COMMAND")

    process = commands.add_parser(
        "credential-process",
        help="get keys once and print them as credential-process JSON",
        description='Print {"Version": 1, "AccessKeyId", "SecretAccessKey", "Expiration"} on stdout.',
    )
    _credential_flags(process)

    serve = commands.add_parser(
        "serve",
        help="serve keys on a local metadata endpoint, renewed before they expire",
        description="Answer GET /latest/meta-data/iam/security-credentials like a server role's metadata service; "
        "point NCP's SDKs at it with NCLOUD_METADATA_ENDPOINT (Python) or NCLOUD_METADATA_API_ENDPOINT (Go).",
    )
    _credential_flags(serve)
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: only this machine can ask)"
    )

    update = commands.add_parser(
        "update",
        help="write keys to ~/.ncloud/configure and keep them fresh",
        description="Write ncloud_access_key_id and ncloud_secret_access_key into a profile of ~/.ncloud/configure "
        "(mode 0600, other lines kept), then renew them before they expire until stopped.",
    )
    _credential_flags(update)
    update.add_argument("--profile", default="DEFAULT", help="profile (section) to write (default DEFAULT)")
    update.add_argument("--once", action="store_true", help="write once and exit")
    parser.set_defaults(_subparsers=dict(commands.choices))
    return parser


def _fetcher(args: argparse.Namespace):
    """A function that gets new keys each time it is called (reading the files once, up front)."""
    from ncp_signing_helper.session import create_session
    from ncp_signing_helper.signer import load_identity

    identity = load_identity(args.certificate, args.private_key, args.intermediates)
    request = SessionRequest(
        trust_anchor_nrn=args.trust_anchor_nrn,
        profile_nrn=args.profile_nrn,
        role_nrn=args.role_nrn,
        duration_seconds=args.duration_seconds,
        endpoint=args.endpoint,
    )

    def fetch() -> Credentials:
        return create_session(identity, request)

    return fetch, request


def _serve(args: argparse.Namespace) -> int:
    from ncp_signing_helper.metadata import CredentialCache, MetadataServer

    fetch, request = _fetcher(args)
    cache = CredentialCache(fetch)
    cache.get()  # fail at start, not at the SDK's first call
    try:
        server = MetadataServer((args.host, args.port), cache, request.role_id)
    except OSError as error:
        raise HelperError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    print(
        f"{PROG}: serving the keys of role {request.role_id} on {server.url} (NCLOUD_METADATA_ENDPOINT={server.url})",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _update(args: argparse.Namespace) -> int:
    from ncp_signing_helper.configure import configure_path, run_update

    fetch, _ = _fetcher(args)
    try:
        run_update(fetch, path=configure_path(), profile=args.profile, once=args.once)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(f"{PROG} {__version__}")
        elif args.command in (None, "help"):
            topic = getattr(args, "topic", None)
            if topic is not None and topic not in args._subparsers:
                parser.error(f"no such command: {topic}")
            (args._subparsers[topic] if topic else parser).print_help()
        elif args.command == "credential-process":
            fetch, _ = _fetcher(args)
            print(json.dumps(fetch().process_document()))
        elif args.command == "serve":
            return _serve(args)
        elif args.command == "update":
            return _update(args)
    except HelperError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    return 0
