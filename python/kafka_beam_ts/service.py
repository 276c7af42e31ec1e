"""The kafka-beam-ts expansion service, started on demand with Beam's own subprocess lifecycle."""
import os
import shutil

from apache_beam.transforms.external import ExpansionAndArtifactRetrievalStub
from apache_beam.utils import subprocess_server

CLI_ENV = "KAFKA_BEAM_TS_CLI"
NPM_PACKAGE = "kafka-beam-ts@0.1.0"


def _cli_command():
    """The command that runs the kafka-beam-ts CLI: $KAFKA_BEAM_TS_CLI, `kafka-beam-ts` on the PATH, or npx."""
    configured = os.environ.get(CLI_ENV)
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise RuntimeError(f"{CLI_ENV}={configured!r} is not an executable file (point it at bin/kafka-beam-ts)")
        return [configured]
    found = shutil.which("kafka-beam-ts")
    if found:
        return [found]
    npx = shutil.which("npx")
    if npx:
        return [npx, "--yes", NPM_PACKAGE]
    raise RuntimeError(
        "cannot find the kafka-beam-ts CLI: set KAFKA_BEAM_TS_CLI to its bin/kafka-beam-ts, put kafka-beam-ts on the "
        "PATH (npm install -g kafka-beam-ts), or install Node.js so that npx can fetch it")


class ExpansionService(object):
    """An expansion service for Beam's external transforms: ``kafka-beam-ts serve`` as a subprocess.

    Pass it as ``expansion_service=`` (the transforms of this package do by default). Like Beam's
    ``JavaJarExpansionService``, it starts the service when an expansion needs it, on a free port, and stops it when
    the last user is done: inside ``with beam.Pipeline() as p:`` the service is started once and stopped with the
    pipeline. The service also stops on its own if this Python process dies (``--parent-pid``).
    """
    def __init__(self, cli=None, extra_args=()):
        self._cli = list(cli) if cli else None
        self._extra_args = list(extra_args)
        self._users = 0
        self._server = None
        self._stub = None

    def command(self):
        """The full command line, with Beam's ``{{PORT}}`` placeholder for the expansion port."""
        return [*(self._cli or _cli_command()), "serve", "--expansion-port", "{{PORT}}", "--worker-pool-port", "0",
                "--http-port", "0", "--parent-pid", str(os.getpid()), *self._extra_args]

    def __enter__(self):
        if self._users == 0:
            self._server = subprocess_server.SubprocessServer(
                ExpansionAndArtifactRetrievalStub, self.command(), logger="kafka-beam-ts")
            self._stub = self._server.__enter__()
        self._users += 1
        return self._stub

    def __exit__(self, *args):
        self._users -= 1
        if self._users == 0:
            server, self._server, self._stub = self._server, None, None
            server.__exit__(*args)


_default = None


def default_expansion_service():
    """The process-wide service the transforms of this package use when given no ``expansion_service``."""
    global _default
    if _default is None:
        _default = ExpansionService()
    return _default
