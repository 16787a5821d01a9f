"""The ``modelyard`` command line: composes each domain's commands; maps errors to exit codes.

Exit codes: 0 ok, 1 failure, 2 invalid input, 3 not found, 4 already exists or conflict,
5 permission denied, 6 service unavailable, 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from modelyard._version import __version__
from modelyard.auth.cli import login, projects, tokens, users
from modelyard.cli import build, cards, db, demo, register, serve, server
from modelyard.data.cli import datasets
from modelyard.data.cli.lineage import lineage
from modelyard.errors import EXIT_CODES, ModelyardError
from modelyard.monitoring.cli import monitor, monitors
from modelyard.pipelines.cli import pipelines
from modelyard.registry.cli import audit, deployments, models
from modelyard.terminal import fail
from modelyard.tracking.cli import artifacts, experiments, runs
from modelyard.tracking.cli.sync import sync

app = typer.Typer(
    name="modelyard",
    help="modelyard: track experiments, version and validate data, register, govern and serve "
    "models, and monitor them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(datasets.app, name="datasets")
models.app.command("card")(cards.card)
models.app.command("register")(register.register)
app.add_typer(models.app, name="models")
app.add_typer(deployments.app, name="deployments")
app.add_typer(audit.app, name="audit")
app.add_typer(monitor.app, name="monitor")
app.add_typer(monitors.app, name="monitors")
app.add_typer(monitors.alerts_app, name="alerts")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(users.service_app, name="service-accounts")
app.add_typer(projects.app, name="projects")
app.add_typer(tokens.app, name="tokens")
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("whoami")(login.whoami)
app.command("lineage")(lineage)
app.command("server")(server.server)
app.command("serve")(serve.serve)
app.command("build")(build.build)
app.command("demo")(demo.demo)
app.command("sync")(sync)


@app.command()
def version() -> None:
    """Print the modelyard version."""
    print(__version__)


def main(argv: list[str] | None = None) -> int:
    try:
        # without standalone mode click returns (not raises) the code of ``typer.Exit(n)``
        code = app(args=argv, standalone_mode=False)
    except ModelyardError as exc:
        fail(exc.message)
        return EXIT_CODES.get(exc.code, 1)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            fail(exc.format_message())
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        fail("interrupted")
        return 130
    return code if isinstance(code, int) else 0


def run() -> None:
    sys.exit(main())
