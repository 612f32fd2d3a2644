"""One applied control as a result records it: what was set, how, when, and its exact text.

A trial's ``mechanism`` is a list of these entries, so that checks and reports read fields,
never prose::

    {"role": "seed", "how": "call", "name": "tf.keras.utils.set_random_seed", "value": 42,
     "when": "before each model", "text": "tf.keras.utils.set_random_seed(42)"}

* role: ``hash seed`` (PYTHONHASHSEED), ``seed`` (a seed call) or ``determinism`` (a switch);
* how: ``environment`` (a variable), ``call`` (a function called with ``value``) or
  ``attribute`` (an attribute assigned ``value``);
* when: one of WHEN, the moment the configuration applied it;
* text: the setting or call word for word, as a user would type it.
"""

from typing import Any, Iterable, List

ROLES = ("hash seed", "seed", "determinism")
HOWS = ("environment", "call", "attribute")
BEFORE_START, BEFORE_IMPORT, AFTER_IMPORT, BEFORE_EACH_MODEL = (
    "before start", "before import", "after import", "before each model")
WHEN = (BEFORE_START, BEFORE_IMPORT, AFTER_IMPORT, BEFORE_EACH_MODEL)
FIELDS = ("role", "how", "name", "value", "when", "text")


def environment(role: str, name: str, value: str) -> dict:
    """A variable set in the environment (the moment is added by ``at``)."""
    return {"role": role, "how": "environment", "name": name, "value": value, "text": "%s=%s" % (name, value)}


def call(role: str, name: str, value: Any = None) -> dict:
    """A function called with one argument (or none)."""
    argument = "" if value is None else repr(value)
    return {"role": role, "how": "call", "name": name, "value": value, "text": "%s(%s)" % (name, argument)}


def attribute(role: str, name: str, value: Any) -> dict:
    return {"role": role, "how": "attribute", "name": name, "value": value, "text": "%s = %r" % (name, value)}


def at(when: str, entries: Iterable[dict]) -> List[dict]:
    """The entries, each stamped with the moment it was applied."""
    stamped = []
    for entry in entries:
        entry = dict(entry)
        entry["when"] = when
        stamped.append(entry)
    return stamped
