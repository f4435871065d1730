"""``nomad-e2e``: the conformance kit's command line.

    nomad-e2e conformance --driver NAME [--plugin PATH] [--nomad-bin PATH] [--profile FILE]
                          [--level sanity|agent|all] [--outputdir DIR] [--processes N] [-- ROBOT OPTIONS...]

Checks what the run needs, builds the test JARs with the JDK at hand (once), runs the driver-agnostic
suites in robot (or pabot, with ``--processes``): the sanity level (the plugin binary alone, over
Nomad's plugin protocol), then the agent level (jobs through real agents), or the one ``--level``
names. Writes log.html, report.html, xunit.xml and the capability matrix ``capabilities.md`` into the
output dir, and prints the matrix. Exits with robot's status: the number of failed tests, or 252 when
the run could not start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nomadtest.kit import conformance, preflight, report, testjars

# Robot's own status for invalid data or options; a smaller one counts failed tests.
CANNOT_START = 252


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nomad-e2e", description="End-to-end tests of Nomad task drivers that run JARs.")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "conformance",
        help="run the driver-agnostic suites against a driver and write its capability matrix",
        description="Options after -- go to robot as they are (e.g. -- --include area:happy).",
    )
    run.add_argument(
        "--driver", required=True, metavar="NAME", help="the driver name jobs use, as the plugin reports it"
    )
    run.add_argument(
        "--plugin",
        type=Path,
        metavar="PATH",
        help="the driver's plugin binary (leave out for a driver built into Nomad)",
    )
    run.add_argument(
        "--nomad-bin", type=Path, metavar="PATH", help="the Nomad binary (default: $NOMAD_BIN, then nomad on PATH)"
    )
    run.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="the driver's profile (default: $NOMAD_DRIVER_PROFILE, then the one shipped for the driver)",
    )
    run.add_argument(
        "--outputdir", type=Path, default=Path("results"), metavar="DIR", help="where results go (default: results)"
    )
    run.add_argument("--processes", type=int, default=1, metavar="N", help="run suites in N robot processes with pabot")
    run.add_argument(
        "--level",
        choices=conformance.LEVELS,
        default="all",
        help="sanity: the plugin binary over Nomad's plugin protocol; agent: jobs through real agents; "
        "all (default): sanity, then agent",
    )
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, robot_options = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser().parse_args(ours)
    try:
        run = prepare(args, robot_options)
    except (preflight.NotReadyError, testjars.BuildError) as error:
        print(f"nomad-e2e: {error}", file=sys.stderr)
        return CANNOT_START
    if args.level == "all" and "sanity" not in run.levels():
        print(f"nomad-e2e: no sanity level for {run.driver}: it is built into Nomad, with no plugin binary to start")
    status = conformance.execute(run)
    output_xml = run.outputdir / conformance.OUTPUT
    if not output_xml.is_file():
        print(f"nomad-e2e: robot wrote no {output_xml} (exit status {status})", file=sys.stderr)
        return status or CANNOT_START
    matrix = report.write(output_xml, run.driver)
    print(f"\n{matrix.markdown()}\nMatrix:  {run.outputdir / report.MATRIX_FILE}")
    return status


def prepare(args: argparse.Namespace, robot_options: list[str]) -> conformance.Run:
    """Everything checked, then the JARs built (the first time takes a while), before any agent starts."""
    profile = preflight.profile(args.driver, args.profile)
    plugin = preflight.plugin(profile, args.plugin)
    if args.level == "sanity" and plugin is None:
        raise preflight.NotReadyError(
            f"The sanity level starts the driver's plugin binary, and driver '{args.driver}' has none: a driver "
            "built into Nomad (java, raw_exec) runs in the agent's own process. Run --level agent, or give --plugin."
        )
    nomad_bin = preflight.nomad_binary(args.nomad_bin)
    return conformance.Run(
        driver=args.driver,
        profile=Path(profile.source).resolve(),
        plugin=plugin,
        plugin_file_name=preflight.plugin_file_name(profile),
        nomad_bin=nomad_bin,
        jars=testjars.ensure_built(),
        outputdir=args.outputdir.resolve(),
        processes=args.processes,
        robot_options=robot_options,
        level=args.level,
    )
