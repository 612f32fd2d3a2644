"""The CLI reference (docs/cli.md's generated block), made from the parsers themselves.

Every ``bench`` command, its description and each of its arguments and options, in the
groups the parser declares, with the help text argparse would print: read from
``bench.cli.build_parser()``, so the page changes when a parser does and ``bench publish
--check`` fails until it is published again. Rendered as Markdown lists (not argparse's
own help screen, whose line breaks follow the terminal's width and Python's version).

bench.cli is imported when the reference is made, not with this module: the CLI holds the
command that writes its reference (bench publish), and the package graph stays free of circles.
"""

import argparse
import importlib
import re

# argparse's own titles for its two default groups (before and after Python 3.10).
_DEFAULT_GROUPS = {"positional arguments": "Arguments", "options": "Options", "optional arguments": "Options"}
_MARKUP = re.compile(r"([\\*_\[\]<>&#|])")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def render() -> str:
    """The reference: the command list, then a section per command."""
    parser = importlib.import_module("bench.cli").build_parser()
    commands = _subcommands(parser)
    lines = [f"`bench COMMAND` (`python -m bench COMMAND`, or `repro-bench COMMAND` once installed): "
             f"{text(parser.description)}", ""]
    lines += [f"- [`bench {name}`](#bench-{name}): {text(sub_help)}" for name, sub_help, _ in commands]
    for name, _, subparser in commands:
        lines += ["", f"## bench {name}", "", text((subparser.description or "").strip()), "",
                  f"```text\n{synopsis(name, subparser)}\n```"]
        for group in subparser._action_groups:
            actions = [action for action in group._group_actions if action.help != argparse.SUPPRESS
                       and not isinstance(action, argparse._HelpAction)]
            if not actions:
                continue
            lines += ["", f"**{text(_DEFAULT_GROUPS.get(group.title, group.title))}**", ""]
            lines += [f"- {_signature(action)}{_choices(action)}" + (f": {text(_help(subparser, action))}"
                                                                    if _help(subparser, action) else "")
                      for action in actions]
        exclusive = [group for group in subparser._mutually_exclusive_groups if group._group_actions]
        for group in exclusive:
            names = ", ".join(f"`{action.option_strings[0]}`" for action in group._group_actions)
            lines += ["", f"At most one of {names}."]
    return "\n".join(lines) + "\n"


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each command, in the order bench.cli declares them."""
    action = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    return [(name, helps.get(name, ""), subparser) for name, subparser in action.choices.items()]


def synopsis(name: str, parser: argparse.ArgumentParser) -> str:
    """``bench NAME`` with its arguments and ``[options]``: the shape of a command line."""
    words = [f"bench {name}"]
    for action in parser._actions:
        if action.option_strings or action.help == argparse.SUPPRESS:
            continue
        value = _value_name(action)
        words.append({"?": f"[{value}]", "*": f"[{value} ...]", "+": f"{value} [{value} ...]"}.get(action.nargs, value))
    if any(action.option_strings and not isinstance(action, argparse._HelpAction) for action in parser._actions):
        words.append("[options]")
    return " ".join(words)


def _signature(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{_value_name(action)}`" + {"*": " (any number)", "+": " (one or more)",
                                              "?": " (optional)"}.get(action.nargs, "")
    value = "" if action.nargs == 0 else " " + _value_name(action)
    if action.nargs == "?":
        value = f" [{value.strip()}]"
    return ", ".join(f"`{option}{value}`" for option in action.option_strings)


def _value_name(action: argparse.Action) -> str:
    if action.metavar is not None:
        return action.metavar
    if action.choices is not None:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.upper() if action.option_strings else action.dest


def _choices(action: argparse.Action) -> str:
    """The choices, where the value's name does not show them already."""
    if action.choices is None or action.metavar is None:  # none, or the value's name lists them
        return ""
    return " (" + ", ".join(f"`{choice}`" for choice in action.choices) + ")"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The help text as argparse prints it (``%%`` and ``%(default)s`` expanded)."""
    if not action.help:
        return ""
    return parser._get_formatter()._expand_help(action).strip()


def text(words: str) -> str:
    """Prose for Markdown: markup characters escaped outside `code spans`, which stay as they are."""
    parts = words.replace("\n", " ").split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: no code spans, and the lone one escaped
        return _escaped(words.replace("\n", " ")).replace("`", "\\`")
    return "`".join(part if index % 2 else _escaped(part) for index, part in enumerate(parts))


def _escaped(part: str) -> str:
    return _MARKUP.sub(lambda match: _ENTITIES.get(match.group(1), "\\" + match.group(1)), part)
