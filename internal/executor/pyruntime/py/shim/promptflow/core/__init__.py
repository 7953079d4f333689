# pfz built-in stand-in for promptflow.core, used only when the real promptflow
# is not installed in the session (a real one always wins).
from promptflow._core.metric_logger import log_metric
from promptflow._core.tool import ToolProvider, tool
from promptflow.core._model_configuration import AzureOpenAIModelConfiguration, OpenAIModelConfiguration
from promptflow.core._prompty import AsyncPrompty, Prompty

__all__ = ["tool", "ToolProvider", "log_metric", "AzureOpenAIModelConfiguration", "OpenAIModelConfiguration", "Prompty", "AsyncPrompty"]
