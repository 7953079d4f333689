# Older flows import connection classes from promptflow.entities.
from promptflow.connections import *  # noqa: F401,F403
from promptflow.connections import __all__  # noqa: F401
