# pfz built-in stand-in for promptflow.tracing: @trace keeps the function as it
# is (sync, async or generator) and start_trace does nothing; pfz records each
# line's inputs, outputs and duration itself.
import functools


def trace(func=None, **kwargs):
    def wrap(f):
        @functools.wraps(f)
        def inner(*a, **kw):
            return f(*a, **kw)

        setattr(inner, "__original_function", f)
        return inner if not _is_special(f) else f

    if func is not None:
        return wrap(func)
    return wrap


def _is_special(f):
    import inspect

    # Coroutine and generator functions keep their kind unwrapped.
    return inspect.iscoroutinefunction(f) or inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f)


def start_trace(*args, **kwargs):
    return None


__all__ = ["trace", "start_trace"]


def _thread_pool_executor():
    import concurrent.futures
    import contextvars

    class ThreadPoolExecutorWithContext(concurrent.futures.ThreadPoolExecutor):
        """A ThreadPoolExecutor whose threads start in a copy of the
        submitting thread's context, as promptflow's does."""

        def submit(self, fn, *args, **kwargs):
            ctx = contextvars.copy_context()
            return super().submit(ctx.run, fn, *args, **kwargs)

    return ThreadPoolExecutorWithContext


ThreadPoolExecutorWithContext = _thread_pool_executor()
__all__.append("ThreadPoolExecutorWithContext")
