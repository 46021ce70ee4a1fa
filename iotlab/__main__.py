"""Command line of the course: ``python -m iotlab COMMAND`` or ``iotlab COMMAND``.

Each command lives in its own module and parses its own options, so that
``iotlab reproduce --help`` shows only what ``reproduce`` takes.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import sys

#: Command name -> (module that implements it, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "fetch": (
        "iotlab.fetch",
        "get the real dataset or build the twin (same as data_fetch.py)",
    ),
    "reproduce": (
        "iotlab.reproduce",
        "run the seven models of Reddy et al. 2025 and write results",
    ),
    "twin-report": (
        "iotlab.report",
        "measure how closely the offline twin matches real rows",
    ),
    "build-lessons": (
        "iotlab.lessons",
        "generate the student lessons from the instructor solutions",
    ),
    "check-submissions": (
        "iotlab.grading",
        "check that submitted/ has the notebooks nbgrader grades",
    ),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: iotlab COMMAND [options]", "       iotlab --version", ""]
    lines.append("commands:")
    for name, (_, help_text) in COMMANDS.items():
        lines.append(f"  {name:<{width}}  {help_text}")
    lines.append("")
    lines.append("Run `iotlab COMMAND --help` for the options of one command.")
    return "\n".join(lines)


def _version() -> str:
    try:
        return importlib.metadata.version("iotlab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the command named by the first argument and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else 2
    if args[0] in {"-V", "--version"}:
        print(f"iotlab {_version()}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"iotlab: unknown command {name!r}.\n\n{_usage()}", file=sys.stderr)
        return 2
    command = importlib.import_module(COMMANDS[name][0]).main
    # A command that is also a script of its own (data_fetch.py) takes the
    # program name, so that its usage and error lines read "iotlab fetch".
    if "prog" in inspect.signature(command).parameters:
        return int(command(rest, prog=f"iotlab {name}") or 0)
    return int(command(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
