"""`innomon`: the command line that operators and tests use.

Exit codes: 0 done; 2 usage or configuration error; 3 input failed validation (nothing
published); 4 another run holds the year on this store (nothing done); 5 the disclosure audit
failed (nothing published); 1 anything else. Errors are
one sentence, not a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from innomon.errors import ConfigError, InnomonError, InputError
from schemas.vocabulary import STAGES

EXIT_CODES = """exit codes:
  0  done
  1  anything else (a failed step after its retries, an unreachable store); one sentence, no traceback
  2  usage or configuration error (innomon check --year YEAR names the file, key and rule)
  3  an input export failed validation: nothing was published
  4  another run of the year holds the store: nothing was done; try again when it has finished
  5  the disclosure audit failed (a suppressed cell an intruder can pin down): nothing was published"""


def _store_options(parser: argparse.ArgumentParser, why: str = "", published: bool = True) -> None:
    """`--store` and (unless not needed) `--published`, as every command that works on a store has them."""
    parser.add_argument("--store", default=os.environ.get("INNOMON_STORE", "demo-output/store"), help="the store")
    if published:
        parser.add_argument(
            "--published",
            default=os.environ.get("INNOMON_PUBLISHED"),
            help=f"root of the published zone if not STORE/published {why}".strip(),
        )


class _Parser(argparse.ArgumentParser):
    """Every parser shows each option's default and the exit codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("epilog", EXIT_CODES)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # usage errors exit 2 with one sentence
        self.print_usage(sys.stderr)
        print(f"innomon: {message}", file=sys.stderr)
        raise SystemExit(2)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each option's default where it has one, and the exit codes' lines kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required or action.default in (None, False, "", argparse.SUPPRESS) or "%(default)" in text:
            return text
        return f"{text} (default: %(default)s)"


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="innomon", description="Noord-Nederlandse Innovatiemonitor pipeline")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="also show Prefect's own log lines (task and flow run chatter)"
    )
    p.add_argument(
        "--region",
        default=None,
        help="region profile in configs/regions/ (e.g. national); default INNOMON_REGION or the base region",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("synth", help="write a synthetic survey export for a year")
    s.add_argument("--year", type=int, required=True, help="monitor year (a configs/YEAR.yaml must exist)")
    s.add_argument("--out", required=True, help="RAW_ROOT folder; the export goes to OUT/YEAR/")
    s.add_argument("--n", type=int, default=None, help="valid respondents (default: config)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: the config's synth.seed)")
    r = sub.add_parser("run", help="run the annual flow of a year")
    r.add_argument("--year", type=int, required=True, help="monitor year to run and publish")
    r.add_argument(
        "--raw-root",
        default=os.environ.get("INNOMON_RAW_ROOT", "demo-output/exports"),
        help="folder or s3:// prefix holding YEAR/<export> (INNOMON_RAW_ROOT)",
    )
    r.add_argument(
        "--store",
        default=os.environ.get("INNOMON_STORE", "demo-output/store"),
        help="folder or s3:// prefix of the raw, processed and published zones (INNOMON_STORE)",
    )
    r.add_argument(
        "--published",
        default=os.environ.get("INNOMON_PUBLISHED"),
        help="root of the published zone if not STORE/published (e.g. a public bucket)",
    )
    r.add_argument("--steps", default="", help=f"stages to re-run even if cached, comma-separated: {','.join(STAGES)}")
    r.add_argument("--json", action="store_true", help="print the run's result as JSON (for scripts)")
    b = sub.add_parser("rollback", help="point a year's latest release back at an earlier release")
    b.add_argument("--year", type=int, required=True, help="monitor year whose latest release moves back")
    b.add_argument("--to", required=True, dest="run_id", help="RUN_ID of the earlier release")
    _store_options(b)
    w = sub.add_parser("withdraw", help="take a published release off the site; latest returns to the one before")
    w.add_argument("--year", type=int, required=True, help="monitor year of the release")
    w.add_argument("--run", required=True, dest="run_id", help="RUN_ID of the release to withdraw")
    w.add_argument("--reason", required=True, help="why (published in YEAR/withdrawn.json)")
    _store_options(w)
    e = sub.add_parser("erase", help="remove one firm from every zone of the store, on its request")
    who = e.add_mutually_exclusive_group(required=True)
    who.add_argument("--kvk", help="the firm's chamber-of-commerce (KvK) number")
    who.add_argument("--email", help="the e-mail address it answered with")
    who.add_argument("--response-id", dest="response_id", help="one of its survey response ids")
    e.add_argument("--reason", default="request of the firm", help="recorded in the erasure ledger")
    _store_options(e, "(to name the years to republish)")
    rt = sub.add_parser("retention", help="list (or --apply) what the store keeps past its retention periods")
    rt.add_argument("--apply", action="store_true", help="remove and empty what is listed (default: a dry run)")
    rt.add_argument("--as-of", type=int, default=None, help="the year it is (default: this year)")
    _store_options(rt, published=False)
    ad = sub.add_parser(
        "audit-disclosure", help="audit a year's latest release against every release in the store (exit 5: fails)"
    )
    ad.add_argument("--year", type=int, required=True, help="monitor year of the release")
    ad.add_argument("--json", action="store_true", help="the summary as JSON")
    _store_options(ad)
    vr = sub.add_parser(
        "verify-report", help="check a finished report (.docx, .pdf, .txt) against the year's latest release (exit 3)"
    )
    vr.add_argument("--year", type=int, required=True, help="monitor year of the release")
    vr.add_argument("--json", action="store_true", help="the findings and the summary as JSON")
    vr.add_argument("file", type=Path, help="the report: .docx, .pdf or plain text")
    _store_options(vr)
    rk = sub.add_parser(
        "rotate-key",
        help="move the store to a new panel key (old key in INNOMON_PANEL_KEY_OLD, new in INNOMON_PANEL_KEY)",
    )
    _store_options(rk, published=False)
    v = sub.add_parser(
        "verify-store", help="check every object of every zone against its name or manifest; --repair mends"
    )
    _store_options(v)
    v.add_argument("--repair", action="store_true", help="remove what the next run recomputes, restore what is kept")
    rs = sub.add_parser(
        "result-storage", help="keep Prefect task results in S3 (server default) so any worker can resume a run"
    )
    rs.add_argument("uri", nargs="?", help="s3://bucket/folder for the results")
    rs.add_argument("--endpoint", default=None, help="S3 endpoint URL (default: AWS_ENDPOINT_URL)")
    rs.add_argument("--clear", action="store_true", help="back to local result storage")
    la = sub.add_parser("local-api", help="show (or --stop) the local Prefect API that commands reuse")
    la.add_argument("--stop", action="store_true", help="stop it now instead of when it has been idle")
    c = sub.add_parser(
        "check",
        help="check a year's configuration (every file under configs/) and show what changed in the questionnaire",
        description="Checks base.yaml, YEAR.yaml, the region profile, tables.yaml, models.yaml and the datamaps: "
        "unknown keys, types, required keys, ISO 8601 dates, and that every table and model names a datamap "
        "or derived variable. Exit 0 without errors (warnings allowed), 2 with errors.",
    )
    c.add_argument("--year", type=int, required=True, help="monitor year to check (INNOMON_CONFIG_DIR: another folder)")
    d = sub.add_parser("demo", help="synthesise 2021-2023 and run all three years")
    d.add_argument("--out", default="demo-output", help="folder for the exports and the store")
    return p


def storage_uri(location: str) -> str:
    """A store's location as the URI its objects are named by."""
    from innomon import storage

    return storage.as_uri(location)


def parse_steps(text: str) -> list[str]:
    steps = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STAGES]
    if unknown:
        raise ConfigError(f"Unknown stage {unknown[0]!r} in --steps; stages are {', '.join(STAGES)}.")
    return steps


class _KnownErrorFilter(logging.Filter):
    """Drops the traceback from log records of known input/config errors: their message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InnomonError):
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_known_errors() -> None:
    known = logging.Logger.manager.loggerDict
    loggers = [logging.getLogger(name) for name in list(known) if name.startswith("prefect")]
    for logger in [logging.getLogger(), *loggers]:
        for handler in logger.handlers:
            if not any(isinstance(f, _KnownErrorFilter) for f in handler.filters):
                handler.addFilter(_KnownErrorFilter())


def _console(verbose: bool) -> None:
    """What a person sees: one line per stage (`innomon.stages`); Prefect's INFO lines only with -v.

    Prefect's console handler is raised to WARNING through its own environment setting (read when
    Prefect configures logging), so the runs' logs still reach the API at INFO for the UI."""
    from innomon import progress, stage_report

    progress.enable(sys.stderr)  # a progress line on long stages, in a terminal only
    if not verbose:
        os.environ.setdefault(CONSOLE_LEVEL, "WARNING")
    if not any(isinstance(h, _Stdout) for h in stage_report.LOGGER.handlers):
        stage_report.LOGGER.addHandler(_Stdout())
    stage_report.LOGGER.setLevel(logging.INFO)


CONSOLE_LEVEL = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"


class _Stdout(logging.Handler):
    """Prints to whatever `sys.stdout` is at the time (a test's capture, a notebook's cell), not to
    the stream of the first call."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(record.getMessage(), file=sys.stdout, flush=True)
        except Exception:
            self.handleError(record)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def check_panel_key(year: int) -> None:
    """Exit 2 before anything starts when the key the year's configuration names is missing, short,
    or the demo key outside the demo (`innomon.keys.panel_key`)."""
    from innomon import config as config_mod
    from innomon import keys

    keys.panel_key(config_mod.load_typed(year, region=config_mod.current_region()).linking.key_env)


def refuse_if_running(year: int, store: str) -> None:
    """Exit 4 at once, before any flow run starts, when another run holds the year on this store
    (the flow's own lock still decides a race between two commands started in the same instant)."""
    from innomon import locks, storage

    holder = locks.current_holder(storage.zone_root(store, "processed"), f"year-{year}")
    if holder is not None:
        raise locks.busy(f"the run of {year}", holder)


def run_year(
    year: int,
    raw_root: str,
    store: str,
    refresh: list[str] | None = None,
    published: str | None = None,
    api: Any = None,
) -> dict[str, Any]:
    """Run the annual flow with results persisted next to a local store (so cache and data agree).

    `api` is an entered `innomon.api.PrefectApi`; without one, the configured API is used or a
    local one is started for this call."""
    from innomon import config as config_mod

    config_mod.load(year, region=config_mod.current_region())  # configuration errors surface before Prefect
    from innomon import storage

    storage.check_separate_zones(raw_root, store, published)  # and overlapping zones, before anything runs
    refuse_if_running(year, store)
    check_panel_key(year)
    umask_before = os.umask(0o077)  # the store's files, Prefect's results among them: the user's only
    try:
        if api is None:
            from innomon.api import PrefectApi

            with PrefectApi(notify=_say):
                return _run_flow(year, raw_root, store, refresh, published)
        return _run_flow(year, raw_root, store, refresh, published)
    finally:
        os.umask(umask_before)


def _run_flow(year: int, raw_root: str, store: str, refresh: list[str] | None, published: str | None) -> dict[str, Any]:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

    from flows.annual import annual_flow
    from innomon import config as config_mod
    from innomon import storage

    _quiet_known_errors()
    store_uri = storage.as_uri(store)
    updates: dict[Any, Any] = {PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}
    if store_uri.startswith("file://") and not os.environ.get("PREFECT_LOCAL_STORAGE_PATH"):
        from urllib.parse import urlparse

        updates[PREFECT_LOCAL_STORAGE_PATH] = Path(urlparse(store_uri).path) / "processed" / "_prefect-results"
    with temporary_settings(updates=updates):
        return annual_flow(
            year=year,
            raw_root=storage.as_uri(raw_root),
            store=store_uri,
            refresh=refresh or [],
            published_root=storage.as_uri(published) if published else None,
            region=config_mod.current_region(),
        )


def _preload(freeze: bool) -> None:
    """Import the flow and its libraries (while the local API starts on the other core).

    With `freeze` (the command's own process, see `entry`) the objects alive then (some 175,000:
    Prefect, pydantic, pandas and the pipeline's modules) are frozen out of the garbage collector's
    reach: they live as long as the process, and every full collection during the run would
    otherwise traverse them all again (measured: 0.74 s of collections in one year's run, 0.46 s
    with them frozen). The few hundred objects the imports left as garbage are frozen with them and
    kept until the exit. Never in a caller's process (a test), where each call would freeze whatever
    that process holds."""
    import flows.annual  # noqa: F401

    if freeze:
        gc.freeze()


def _check(year: int) -> int:
    """`innomon check`: every error and warning of the year's configuration, and the questionnaire's
    changes against the previous configured year (what an operator reviews each spring)."""
    from innomon import config as config_mod
    from innomon.config_check import check_year

    cdir = config_mod.config_dir()
    if not (cdir / f"{year}.yaml").exists():
        config_mod.load(year)  # the one-sentence "no configuration for YEAR" error
    report = check_year(year, cdir, config_mod.current_region())
    for problem in report.errors:
        print(f"error: {problem.sentence()}")
    for problem in report.warnings:
        print(f"warning: {problem.sentence()}")
    if report.changes:
        print(f"Questionnaire {year} against the previous configured year ({len(report.changes)} changes):")
        print("\n".join(f"  {line}" for line in report.changes))
    verdict = "refused" if report.errors else "accepted"
    print(f"configuration {year}: {verdict} ({len(report.errors)} errors, {len(report.warnings)} warnings)")
    return 2 if report.errors else 0


def _print_links(result: dict[str, Any]) -> None:
    print(f"Workbook: {result['links']['workbook']}")
    if result["links"].get("concept"):
        print(f"Draft:    {result['links']['concept']}")
    print(f"Index:    {result['links']['index']}")


def main(argv: list[str] | None = None, own_process: bool = False) -> int:
    """Entry point; returns the exit code. `own_process`: the process is the command's and ends
    with it (`entry`), not a test's or notebook's calling `main`."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")  # nor Prefect's SDK telemetry: a survey run phones no one
    before = os.environ.get("INNOMON_REGION")
    umask_before = os.umask(0o077)  # whatever this command writes (Prefect's results too) is its user's only
    level_before = os.environ.get(CONSOLE_LEVEL)  # read before `_console` sets it, restored at the end
    if args.command in ("run", "demo"):
        _console(args.verbose)
    if args.region:  # one region for everything this command does (synth, run, rollback)
        os.environ["INNOMON_REGION"] = args.region
    try:
        if args.command == "synth":
            from innomon.synth.export import write_year

            summary = write_year(args.year, Path(args.out), args.n, args.seed)
            print(json.dumps(summary, indent=2, sort_keys=True))
        elif args.command == "run":
            from innomon import config as config_mod
            from innomon.api import PrefectApi

            steps = parse_steps(args.steps)
            config_mod.load(args.year, region=config_mod.current_region())  # config errors before anything starts
            from innomon import storage

            storage.check_separate_zones(args.raw_root, args.store, args.published)  # and overlapping zones
            refuse_if_running(args.year, args.store)
            check_panel_key(args.year)
            api = PrefectApi(notify=_say)  # a local API boots on the other core meanwhile
            _preload(freeze=own_process)
            with api:
                _say(f"innomon run {args.year}: Prefect {api.description}")
                result = run_year(args.year, args.raw_root, args.store, steps, args.published, api=api)
            if args.json:
                print(json.dumps(result, indent=2, sort_keys=True))
            else:
                _print_links(result)
        elif args.command == "rollback":
            from innomon import storage
            from tasks.publish.pointers import rollback

            root = storage.as_uri(args.published) if args.published else storage.zone_root(args.store, "published")
            moved = rollback(root, storage.zone_root(args.store, "processed"), args.year, args.run_id)
            print(json.dumps(moved, indent=2, sort_keys=True))
        elif args.command == "withdraw":
            from innomon import storage
            from tasks.publish.pointers import withdraw

            root = storage.as_uri(args.published) if args.published else storage.zone_root(args.store, "published")
            notice = withdraw(root, storage.zone_root(args.store, "processed"), args.year, args.run_id, args.reason)
            print(json.dumps(notice, indent=2, sort_keys=True))
        elif args.command == "retention":
            from innomon import retention

            store = storage_uri(args.store)
            actions = retention.plan(store, args.as_of or retention.this_year())
            for action in actions:
                print(action.line(store))
            if args.apply:
                retention.apply(actions)
            done = "done" if args.apply else "a dry run: --apply does it"
            print(f"{len(actions)} object(s) past their retention period ({done})")
        elif args.command == "verify-report":
            from innomon import verify_report as vr

            if not args.file.is_file():
                raise ConfigError(f"{args.file} is not a file.")
            release = vr.load_release(args.store, args.year, args.published)
            result = vr.verify(vr.read_document(args.file), release)
            if args.json:
                print(json.dumps(result.summary(), indent=2, ensure_ascii=False, sort_keys=True))
            else:
                print("\n".join(vr.report_lines(result, args.file, release)))
            if result.wrong:
                raise InputError(f"{len(result.wrong)} claim(s) of {args.file.name} disagree with the release.")
        elif args.command == "audit-disclosure":
            from innomon.disclosure_store import audit_year, report_lines
            from innomon.errors import DisclosureError

            summary = audit_year(args.store, args.year, args.published)
            print(json.dumps(summary, indent=2, sort_keys=True) if args.json else "\n".join(report_lines(summary)))
            if summary["unprotected"]:
                raise DisclosureError(f"The disclosure audit of {args.year} fails.")
        elif args.command == "rotate-key":
            from innomon.rotation import rotate

            print(json.dumps(rotate(args.store), indent=2, sort_keys=True))
        elif args.command == "erase":
            from innomon.erasure import erase

            kind, value = next(
                (k, getattr(args, a))
                for k, a in (("kvk", "kvk"), ("email", "email"), ("response_id", "response_id"))
                if getattr(args, a)
            )
            print(json.dumps(erase(args.store, kind, value, args.reason, args.published), indent=2, sort_keys=True))
        elif args.command == "verify-store":
            from innomon.store_check import verify_store

            findings = verify_store(args.store, args.published, repair=args.repair)
            store = storage_uri(args.store)
            for finding in findings:
                print(finding.line(store))
            left = [f for f in findings if not f.action or f.action.startswith("no kept copy")]
            print(f"{len(findings)} problem(s); {len(findings) - len(left)} repaired, {len(left)} left")
            return 1 if left else 0
        elif args.command == "result-storage":
            from innomon import result_storage
            from innomon.api import PrefectApi

            with PrefectApi(notify=_say):
                if args.clear:
                    result_storage.clear_server_default()
                elif args.uri:
                    print(f"saved {result_storage.configure(args.uri, args.endpoint)} as the server's result storage")
                print(f"results of new runs go to {result_storage.describe()}")
        elif args.command == "check":
            return _check(args.year)
        elif args.command == "local-api":
            from innomon.api import LocalApi, idle_seconds

            local = LocalApi.running()
            if local is None:
                print("no local Prefect API is running for this PREFECT_HOME")
            elif args.stop:
                local.stop()
                print(f"stopped the local Prefect API {local.url}")
            else:
                print(f"local Prefect API {local.url} (pid {local.pid}; exits after {idle_seconds():.0f} s idle)")
        elif args.command == "demo":
            from innomon import keys
            from innomon.api import PrefectApi
            from innomon.synth.export import write_year

            os.environ[keys.DEMO_FLAG] = "1"  # synthetic data: the built-in demo key is allowed, and said so
            _say("innomon demo: synthetic firms, pseudonymised with the built-in demo key (never for real data)")
            out = Path(args.out)
            api = PrefectApi(notify=_say)  # boots while the exports are synthesised
            for year in (2021, 2022, 2023):
                write_year(year, out / "exports")
            _say(f"innomon demo: synthetic exports of 2021-2023 in {out / 'exports'}")
            _preload(freeze=own_process)
            with api:
                _say(f"innomon demo: Prefect {api.description}")
                for year in (2021, 2022, 2023):
                    result = run_year(year, str(out / "exports"), str(out / "store"), api=api)
            _print_links(result)
            print(f"Bundle:   {result['release']}")
            print(f"Manifest: {result['manifest']}")
        return 0
    except InnomonError as exc:
        print(f"innomon: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # the one-sentence promise holds for the unexpected too
        print(f"innomon: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("INNOMON_DEBUG"):
            raise
        return 1
    finally:  # an in-process caller (a test, a notebook) keeps its own settings
        os.umask(umask_before)
        if level_before is None:
            os.environ.pop(CONSOLE_LEVEL, None)
        else:
            os.environ[CONSOLE_LEVEL] = level_before
        if args.region:
            if before is None:
                os.environ.pop("INNOMON_REGION", None)
            else:
                os.environ["INNOMON_REGION"] = before


def entry() -> NoReturn:
    """The `innomon` command: `main` in a process of its own, left without a last full collection.

    When the interpreter exits it collects garbage across everything still alive (some 340,000
    objects after a run) before it frees it: about 0.9 s of every command's exit on this machine,
    spent on memory the operating system takes back anyway. Freezing those objects first skips
    that traversal. What the exit must do still happens before it: Prefect's log and event queues
    drain, the exit handlers run (the chart workers' shutdown, `weakref.finalize`, logging), and
    the output is flushed. Only the finalizers of objects caught in reference cycles no longer run;
    the pipeline closes its files and removes its temporary files itself, and Splink's DuckDB is in
    memory."""
    code = main(own_process=True)
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
