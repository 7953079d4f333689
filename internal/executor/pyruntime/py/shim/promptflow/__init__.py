# pfz built-in stand-in for promptflow: enough for flows written for promptflow
# to run unchanged (@tool, log_metric, ToolProvider, connections). A real
# promptflow installed in the session always takes precedence.
from promptflow._core.metric_logger import log_metric
from promptflow._core.tool import ToolProvider, tool

__version__ = "0.0.0+pfz"
PFZ_BUILTIN = True

__all__ = ["tool", "ToolProvider", "log_metric"]
