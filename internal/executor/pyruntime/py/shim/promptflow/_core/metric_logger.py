# pfz built-in stand-in for promptflow's metric logger: log_metric hands each
# value to the loggers the pfz worker registered.
import inspect

_loggers = []


def add_metric_logger(logger_func):
    if logger_func not in _loggers:
        _loggers.append(logger_func)


def remove_metric_logger(logger_func):
    if logger_func in _loggers:
        _loggers.remove(logger_func)


def log_metric(key, value, variant_id=None):
    """Log a metric of an aggregation node (a number, for example an accuracy)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            "log_metric(%r, ...) got %s; metric values must be int or float" % (key, type(value).__name__)
        )
    for fn in list(_loggers):
        try:
            n = len(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            n = 3
        if n == 2:
            fn(key, value)
        else:
            fn(key, value, variant_id)
