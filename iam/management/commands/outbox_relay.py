"""Send the outbox messages the broker did not take when they were written, every few seconds, until stopped.

The Procfile's ``relay`` process. SIGTERM or SIGINT ends it after the pass in progress; ``--once`` runs one pass and
prints ``{"sent": n, "pending": m}``.
"""

import json
import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from iam import outbox
from iam.tasks import TEMPORARY_ERRORS

logger = logging.getLogger("iam.outbox.relay")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SLEEP_STEP_SECONDS = 0.2


class Command(BaseCommand):
    help = "Relay pending outbox messages to the Celery broker every OUTBOX_RELAY_INTERVAL_SECONDS until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help='one pass, then print {"sent": n, "pending": m}')
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between passes (default: settings.OUTBOX_RELAY_INTERVAL_SECONDS)",
        )

    def handle(self, *args, once: bool, interval: float | None, **options):
        if once:
            sent, pending = outbox.relay()
            self.stdout.write(json.dumps({"sent": sent, "pending": pending}))
            return
        interval = settings.OUTBOX_RELAY_INTERVAL_SECONDS if interval is None else interval
        if interval <= 0:
            raise CommandError("--interval (OUTBOX_RELAY_INTERVAL_SECONDS) must be more than 0")
        self.loop(interval)

    def loop(self, interval: float) -> None:
        # A flag, not a threading.Event: setting an Event from a signal handler can deadlock on the Event's own lock.
        self.stopping = False

        def request_stop(signum, frame):
            self.stopping = True

        previous = {signum: signal.signal(signum, request_stop) for signum in STOP_SIGNALS}
        logger.info("outbox relay: started, a pass every %s s", interval, extra={"interval_seconds": interval})
        try:
            while not self.stopping:
                self.one_pass()
                self.sleep(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        logger.info("outbox relay: stopped")

    def sleep(self, seconds: float) -> None:
        """Sleep in short steps so that a stop signal ends the process within a fraction of a second."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(remaining, SLEEP_STEP_SECONDS))

    def one_pass(self) -> None:
        # A long-running process must drop database connections that broke or outlived CONN_MAX_AGE itself.
        close_old_connections()
        try:
            sent, pending = outbox.relay()
        except TEMPORARY_ERRORS as exc:
            logger.warning("outbox relay: pass failed (%s); retrying next pass", type(exc).__name__)
            close_old_connections()
            return
        level = logging.INFO if sent or pending else logging.DEBUG
        logger.log(level, "outbox relay: %d sent, %d pending", sent, pending, extra={"sent": sent, "pending": pending})
