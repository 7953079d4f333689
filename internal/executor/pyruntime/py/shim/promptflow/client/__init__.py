# promptflow.client in a pfz session: PFClient talks to promptflow's own local
# service and store, which pfz does not run. Importing works so a module that
# only imports it loads; using it fails with what to do instead.
_MSG = ("promptflow.client.PFClient is not available in a pfz session: pfz runs flows itself and keeps "
        "connections in its own store. Take connections as typed parameters (e.g. conn: AzureOpenAIConnection) "
        "or model configurations, or install promptflow-devkit in the session (`pfz packages install promptflow-devkit`).")


class PFClient:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(_MSG)


def load_flow(*args, **kwargs):
    raise NotImplementedError("promptflow.client.load_flow is not available in a pfz session; " + _MSG.split(": ", 1)[1])


def load_run(*args, **kwargs):
    raise NotImplementedError("promptflow.client.load_run is not available in a pfz session; " + _MSG.split(": ", 1)[1])


__all__ = ["PFClient", "load_flow", "load_run"]
