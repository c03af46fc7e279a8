"""The `laura` command: run, dev, generate-registration."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys
from pathlib import Path

from . import __version__
from .config_env import apply_overrides
from .errors import ConfigError
from .util import write_private

EXIT_CONFIG = 2
EXIT_STARTUP = 3


def _load_config(path: str, no_update: bool = False):  # type: ignore[no-untyped-def]
    """The config, checked. Brought up to date and written back (new keys with their
    comments, generated tokens), unless no_update: then the file is only read, and a token
    it would have generated is an error instead."""
    from .config import Config

    p = Path(path)
    if not p.exists():
        raise ConfigError(
            f"config file {path} does not exist: copy config.example.yaml to {path} and edit it"
        )
    config = Config(p)
    try:
        config.load()
        unset = [
            key
            for key in ("appservice.as_token", "appservice.hs_token")
            if config[key] in ("generate", "", None)
        ]
        config.update(save=not no_update)
    except Exception as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    # From the environment and secret files: in memory only, after the file was written.
    given = apply_overrides(config, os.environ)
    unset = [key for key in unset if key not in given]
    if no_update and unset:
        raise ConfigError(
            f"{', '.join(unset)} must be set in {path} with --no-update (Laura writes nothing "
            "there then, so it cannot keep a token it makes): put a random text of 48 "
            "characters or more there, like the output of: openssl rand -hex 32"
        )
    if not no_update and p.stat().st_mode & 0o077:
        p.chmod(0o600)  # it holds the appservice tokens (and written back, it has them now)
    config.validate()
    return config


def _setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    from .logs import setup

    setup(level, fmt)


def tune_gc() -> None:
    """Laura holds every waiting visitor's stream open: at 10,000 that is millions of live
    objects, and with CPython's default thresholds (700, 10, 10) a round of queue updates,
    which makes a few new ones per visitor, set off a full collection that stopped the event
    loop for a second or more. What exists once Laura has started (modules, config, clients)
    lives as long as the process: it is frozen out of the collector's scans. The young
    generation is collected after 50,000 new objects instead of 700, so a full collection
    comes after some ten million allocations rather than 70,000."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


async def _run(config) -> None:  # type: ignore[no-untyped-def]
    from .app import Laura

    laura = Laura(config)
    await laura.start()
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await laura.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="laura", description="Live-chat triage on Matrix")
    parser.add_argument("--version", action="version", version=f"laura {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run Laura as a Synapse application service")
    run.add_argument("-c", "--config", default="config.yaml")
    run.add_argument(
        "--no-update",
        action="store_true",
        help="only read the config file, never write it (a read-only file, a ConfigMap)",
    )
    reg = sub.add_parser(
        "generate-registration", help="write the appservice registration file for Synapse"
    )
    reg.add_argument("-c", "--config", default="config.yaml")
    reg.add_argument("-o", "--output", default="registration.yaml")
    reg.add_argument("--no-update", action="store_true", help="only read the config file")
    dev = sub.add_parser("dev", help="the embedded demo: throwaway Synapse, SQLite, widget")
    dev.add_argument("--data-dir", default=".laura-dev")
    dev.add_argument(
        "--dispatch-timeout", default=None, help="override dispatch_timeout for the demo, like 30s"
    )
    args = parser.parse_args(argv)

    try:
        if args.command == "generate-registration":
            config = _load_config(args.config, args.no_update)
            write_private(Path(args.output), json.dumps(config.generate_registration(), indent=2))
            print(
                f"Wrote {args.output}. Add it to app_service_config_files in Synapse's "
                "homeserver.yaml and restart Synapse."
            )
            return 0
        if args.command == "run":
            config = _load_config(args.config, args.no_update)
            _setup_logging(config["logging.level"], str(config["logging.format"]))
            asyncio.run(_run(config))
            return 0
        if args.command == "dev":
            _setup_logging("WARNING")
            from .dev.demo import run_demo

            asyncio.run(run_demo(Path(args.data_dir), args.dispatch_timeout))
            return 0
    except ConfigError as e:
        print(f"laura: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    except Exception as e:
        from .app import StartupError
        from .dev.guard import DevError

        if isinstance(e, StartupError | DevError):
            print(f"laura: cannot start: {e}", file=sys.stderr)
            return EXIT_STARTUP
        raise
    return 1


if __name__ == "__main__":
    sys.exit(main())
