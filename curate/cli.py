"""``curate <verb>``: the command line."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from curate import __version__, console
from curate.errors import ConfigError, CurateError

log = logging.getLogger("curate")


def _cmd_run(args: argparse.Namespace) -> int:
    from curate.stages import extract

    if args.runner == "local":  # this process extracts: its extraction process imports beside the pipeline's imports
        extract.prestart(extract.ExtractConfig())  # the default options; the config below may replace them
    try:
        return _run_pipeline(args, extract)
    finally:
        extract.prestart(None)  # a spare the run did not adopt (an error, nothing left to do)


def _run_pipeline(args: argparse.Namespace, extract: Any) -> int:
    from curate.config import load_pipeline
    from curate.pipeline import run
    from curate.resources import resolve_pipeline

    overrides = {
        "input.paths": args.input or None,
        "output.dir": args.output,
        "runner": args.runner,
        "ray.address": args.address,
        "ray.num_cpus": args.num_cpus,
        "output.rejected": True if args.rejected else None,
    }
    config = load_pipeline(resolve_pipeline(args.pipeline), overrides)
    engine_options = getattr(args, "engine_options", None)
    if engine_options:  # everything after `--`: Beam pipeline options, after the pipeline's beam.options
        if config.runner != "beam":
            raise ConfigError(f"options after -- ({' '.join(engine_options)}) are Beam pipeline options; "
                              "they need --runner beam")
        beam = dataclasses.replace(config.beam, options=[*config.beam.options, *engine_options])
        config = dataclasses.replace(config, beam=beam)
    if config.runner == "beam":
        from curate.runners.beam import check_options

        check_options(config.beam.options)  # before the output directory is touched
    extract.prestart(config.extract if config.runner == "local" else None)  # kept if the options match
    main_thread = threading.current_thread() is threading.main_thread()  # signal handlers: main thread only
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None  # the attempt records why
    try:
        result = run(config)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if console.verbosity() > console.QUIET:  # --quiet: nothing on success; stats.json has the numbers
        print(console.summary(result.stats, result.output_dir, time.monotonic() - args.started, result.skipped))
    return 0


class Terminated(SystemExit):
    """SIGTERM (Slurm at the time limit, ``scancel``) as an exception: the run's ``finally`` and error record run."""

    def __str__(self) -> str:
        return "terminated by SIGTERM (a scheduler's time limit or scancel?)"


def _terminated(signum: int, frame: object) -> None:
    raise Terminated(128 + signum)


def _cmd_langid(args: argparse.Namespace) -> int:
    from curate.lid import langid_main

    return langid_main(args.input, sys.stdout)


def _cmd_dedup(args: argparse.Namespace) -> int:
    from curate.dedup import dedup_main
    from curate.runners import runner_for

    opts = {"keep": args.keep, "scope": args.scope, "index_dir": args.save_index,
            "previous_index": args.against or None}
    runner = runner_for(args.runner or "local", address=args.address, num_cpus=args.num_cpus)
    return dedup_main(args.inputs, args.output, runner, **opts)


def _cmd_dedup_paragraphs(args: argparse.Namespace) -> int:
    from curate.dedup import paragraphs_main
    from curate.runners import runner_for

    return paragraphs_main(args, runner_for("local"))


def _cmd_tokenize(args: argparse.Namespace) -> int:
    from curate.runners import runner_for
    from curate.tokenize import tokenize_main

    return tokenize_main(args, runner_for(args.runner, address=args.address, num_cpus=args.num_cpus))


def _cmd_classify(args: argparse.Namespace) -> int:
    from curate.classify.command import classify_main
    from curate.runners import runner_for

    return classify_main(args, runner_for(args.runner, address=args.address, num_cpus=args.num_cpus))


def _cmd_decontaminate(args: argparse.Namespace) -> int:
    from curate.decontam.command import decontaminate_main
    from curate.runners import runner_for

    return decontaminate_main(args, runner_for(args.runner, address=args.address, num_cpus=args.num_cpus))


def _cmd_train_classifier(args: argparse.Namespace) -> int:
    from curate.classify.train import train_main

    return train_main(args)


def _cmd_crawl(args: argparse.Namespace) -> int:
    from curate.crawl.cli import crawl_main

    return crawl_main(args)


def _cmd_plan(args: argparse.Namespace) -> int:
    from curate.plan import plan_main

    return plan_main(args)


def _cmd_status(args: argparse.Namespace) -> int:
    from curate.status import status_main

    return status_main(args)


def _cmd_card(args: argparse.Namespace) -> int:
    from curate.card import card_from_output

    print(card_from_output(args.output_dir))
    return 0


def _add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", help="pipeline YAML path, or the name of a bundled pipeline")
    parser.add_argument("--input", nargs="+", metavar="PATH_OR_GLOB", help="input paths, replacing input.paths")
    parser.add_argument("--sample", type=int, default=3000, metavar="N",
                        help="records to sample, spread over the input files (default 3000)")
    parser.add_argument("--cores", type=int, default=64, metavar="C", help="cores for the wall-time estimate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the file sample and the bootstrap")
    parser.add_argument("--runner", choices=["ray", "local", "beam"],
                        help="the engine the run will use (default: the pipeline's): local runs one worker")
    parser.add_argument("--gpu-docs-per-s", type=float, default=3000.0, metavar="R",
                        help="documents/s one GPU scores per model (default 3000, an assumption)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")


def _add_console_options(parser: argparse.ArgumentParser, **defaults: object) -> None:
    """``-v`` / ``--quiet``; on each command too (``curate run sample -v``), where they only count when given."""
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="count", default=defaults.get("verbose", argparse.SUPPRESS),
                       help="show the engines' logs (Ray, Ray Data, Beam, Python warnings) and curate's debug "
                            "log; -vv: every library at debug")
    noise.add_argument("-q", "--quiet", action="store_true", default=defaults.get("quiet", argparse.SUPPRESS),
                       help="errors only, on stderr: no step lines, no engine logs, no run summary")


class _VersionAction(argparse.Action):
    """``--version``: computed only when asked (metadata reads and a hash of the model file)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(console.version_report(__version__))
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``curate`` parser. ``only``: the command about to run; the other commands' arguments are then
    left out (their packages are not imported), their names and help lines stay."""
    parser = argparse.ArgumentParser(
        prog="curate", description="Web crawls to training data for European language models."
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="curate's version and the versions of the engines and the LID model in use")
    _add_console_options(parser, verbose=0, quiet=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a pipeline: WARC/JSONL/Parquet in, Parquet per language + stats + card out")
    run.add_argument("pipeline", help="pipeline YAML path, or the name of a bundled pipeline (e.g. sample)")
    run.add_argument("--input", nargs="+", metavar="PATH_OR_GLOB",
                     help="input paths/globs (fsspec), replacing the pipeline's input.paths")
    run.add_argument("--output", metavar="DIR", help="output directory, replacing output.dir")
    run.add_argument("--runner", choices=["ray", "local", "beam"],
                     help="execution engine (default: the pipeline's, ray); with beam, everything after `--` "
                          "goes to Beam's PipelineOptions, e.g. -- --runner=FlinkRunner --flink_master=HOST:8081")
    run.add_argument("--address", metavar="ADDR",
                     help="join this Ray cluster (default: RAY_ADDRESS, else start a local Ray)")
    run.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray (default: all)")
    run.add_argument("--rejected", action="store_true",
                     help="also write dropped documents, with stage and reason, to OUTPUT/rejected/")
    run.set_defaults(func=_cmd_run)

    langid = sub.add_parser(
        "langid", help="identify the language of each line: one JSON object {language, score} per line out"
    )
    langid.add_argument("--input", metavar="FILE", help="UTF-8 text, one document per line (default: stdin)")
    langid.set_defaults(func=_cmd_langid)

    dedup = sub.add_parser(
        "dedup", help="remove URL, exact and near duplicates (MinHash LSH) from Parquet/JSONL documents"
    )
    dedup.add_argument("inputs", nargs="+", metavar="INPUT", help="Parquet/JSONL files, globs or directories")
    dedup.add_argument("--output", required=True, metavar="DIR",
                       help="kept documents to DIR/data/, cluster membership to DIR/duplicates.parquet")
    dedup.add_argument("--runner", choices=["ray", "local"], help="execution engine (default: local)")
    dedup.add_argument("--address", metavar="ADDR", help="join this Ray cluster")
    dedup.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray")
    dedup.add_argument("--keep", choices=["most_recent_then_longest", "longest", "oldest", "first"],
                       help="which member of a cluster survives (default: most_recent_then_longest)")
    dedup.add_argument("--scope", choices=["language", "global"],
                       help="near-duplicates within a language or across all")
    dedup.add_argument("--save-index", metavar="DIR", help="save the signature/band index for later incremental runs")
    dedup.add_argument("--against", nargs="+", metavar="INDEX",
                       help="indices of earlier runs to dedup against; their documents are never dropped")
    dedup.set_defaults(func=_cmd_dedup)

    # Commands whose arguments live in their own packages: those are imported only when the command is the
    # one being run (or every one, for `curate --help` and errors), so `curate run` skips them.
    def lazy(name: str, help: str, func: Any, add_arguments: Callable[[], Callable[..., None]]) -> None:
        command = sub.add_parser(name, help=help)
        if only is None or only == name:
            add_arguments()(command)
        command.set_defaults(func=func)

    def paragraph_arguments() -> Callable[..., None]:
        from curate.dedup.paragraphs import add_paragraph_arguments

        return add_paragraph_arguments

    def tokenize_arguments() -> Callable[..., None]:
        from curate.tokenize import add_tokenize_arguments

        return add_tokenize_arguments

    def classify_arguments() -> Callable[..., None]:
        from curate.classify.command import add_classify_arguments

        return add_classify_arguments

    def decontaminate_arguments() -> Callable[..., None]:
        from curate.decontam.command import add_decontaminate_arguments

        return add_decontaminate_arguments

    def train_arguments() -> Callable[..., None]:
        from curate.classify.train import add_train_arguments

        return add_train_arguments

    def crawl_arguments() -> Callable[..., None]:
        from curate.crawl.cli import add_crawl_arguments

        return add_crawl_arguments

    lazy("dedup-paragraphs", "remove paragraphs (lines) repeated in many documents from Parquet/JSONL documents",
         _cmd_dedup_paragraphs, paragraph_arguments)
    lazy("tokenize", "Parquet documents -> Megatron .bin/.idx shards per language, manifest, lineage, blend",
         _cmd_tokenize, tokenize_arguments)
    lazy("classify", "score Parquet/JSONL documents with a fastText or embedding model; keep the top "
                     "fraction per language, add quality buckets", _cmd_classify, classify_arguments)
    lazy("decontaminate", "drop (or annotate) Parquet/JSONL documents sharing 13-grams (or whole short items) "
                          "with benchmark files; index built once, reusable", _cmd_decontaminate,
         decontaminate_arguments)
    lazy("train-classifier", "train a fastText quality classifier from positive and negative documents",
         _cmd_train_classifier, train_arguments)
    lazy("crawl", "fetch pages politely (robots.txt, TDM opt-outs) from a seeds file into WARC, resumable",
         _cmd_crawl, crawl_arguments)

    plan = sub.add_parser(
        "plan", help="project a run's records, documents and tokens per language, output and scratch bytes, "
                     "core-hours and wall time from a sample of its input, before running it"
    )
    _add_plan_arguments(plan)
    plan.set_defaults(func=_cmd_plan)

    status = sub.add_parser(
        "status", help="progress of a running, finished or killed run from its output directory: shards done, "
                       "documents, rate, ETA, failures"
    )
    status.add_argument("output", metavar="OUTPUT", help="the run's output directory (fsspec path)")
    status.add_argument("--watch", action="store_true", help="refresh until the run ends (Ctrl-C stops watching)")
    status.add_argument("--interval", type=float, default=10.0, metavar="S", help="seconds between refreshes (10)")
    status.add_argument("--stale", type=float, default=1800.0, metavar="S",
                        help="no new shard marker for S seconds: reported as stalled (default 1800)")
    status.add_argument("--json", action="store_true", help="one JSON object (one per refresh with --watch)")
    status.set_defaults(func=_cmd_status)

    card = sub.add_parser("card", help="(re)write the dataset card README.md of a finished run")
    card.add_argument("output_dir", help="a curate output directory (with stats.json)")
    card.set_defaults(func=_cmd_card)
    for command in sub.choices.values():
        _add_console_options(command)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option (curate's own options take no value);
    None without one, or with ``-h``/``--help`` before it (every command's arguments are built then)."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    engine_options: list[str] = []
    if "--" in argv:  # `curate run PIPELINE --runner beam -- BEAM PIPELINE OPTIONS`
        cut = argv.index("--")
        argv, engine_options = argv[:cut], argv[cut + 1 :]
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if engine_options and args.command != "run":
        parser.error("options after -- are Beam pipeline options, only for `curate run ... --runner beam`")
    args.engine_options = engine_options
    args.started = time.monotonic()
    # default: one line per step and a summary, engines' errors only; -v: engine logs; --quiet: errors only
    restore_logging = console.configure(console.QUIET if args.quiet else min(args.verbose, console.DEBUG))
    try:
        return args.func(args)
    except CurateError as exc:
        print(f"curate: error: {exc}", file=sys.stderr)
        return 2
    finally:
        restore_logging()


if __name__ == "__main__":
    sys.exit(main())
