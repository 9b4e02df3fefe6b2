"""Sub-commands of ``python -m mner_lib``: every module here with a ``register(subparsers)``
function adds its commands; :mod:`mner_lib.commands.cli` discovers them."""
