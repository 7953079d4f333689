# pfz built-in stand-ins for promptflow's connection classes. pfz builds them
# from the connection store when a tool parameter is annotated with one.


class _Connection:
    TYPE = ""

    def __init__(self, name=None, **kwargs):
        self.name = name
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __repr__(self):
        # Never show secrets.
        return "%s(name=%r)" % (type(self).__name__, self.name)


class AzureOpenAIConnection(_Connection):
    TYPE = "AzureOpenAI"

    def __init__(self, api_key=None, api_base=None, api_type="azure", api_version="2024-02-01",
                 auth_mode="key", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.api_key = api_key
        self.api_base = api_base
        self.api_type = api_type
        self.api_version = api_version
        self.auth_mode = auth_mode


class OpenAIConnection(_Connection):
    TYPE = "OpenAI"

    def __init__(self, api_key=None, organization=None, base_url=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.api_key = api_key
        self.organization = organization
        self.base_url = base_url


class ServerlessConnection(_Connection):
    TYPE = "Serverless"

    def __init__(self, api_key=None, api_base=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.api_key = api_key
        self.api_base = api_base


class SerpConnection(_Connection):
    TYPE = "Serp"

    def __init__(self, api_key=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.api_key = api_key


class CognitiveSearchConnection(_Connection):
    TYPE = "CognitiveSearch"

    def __init__(self, api_key=None, api_base=None, api_version="2023-07-01-Preview", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.api_key = api_key
        self.api_base = api_base
        self.api_version = api_version


class AzureContentSafetyConnection(_Connection):
    TYPE = "AzureContentSafety"

    def __init__(self, api_key=None, endpoint=None, api_version="2023-10-01", api_type="Content Safety",
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.api_key = api_key
        self.endpoint = endpoint
        self.api_version = api_version
        self.api_type = api_type


class FormRecognizerConnection(AzureContentSafetyConnection):
    TYPE = "FormRecognizer"


class CustomConnection(_Connection):
    TYPE = "Custom"

    def __init__(self, secrets=None, configs=None, name=None, **kwargs):
        object.__setattr__(self, "secrets", dict(secrets or {}))
        object.__setattr__(self, "configs", dict(configs or {}))
        object.__setattr__(self, "name", name)

    def __getattr__(self, item):
        secrets = object.__getattribute__(self, "secrets")
        configs = object.__getattribute__(self, "configs")
        if item in secrets:
            return secrets[item]
        if item in configs:
            return configs[item]
        raise AttributeError("connection %r has no key %r" % (self.name, item))

    def __getitem__(self, item):
        try:
            return self.__getattr__(item)
        except AttributeError:
            raise KeyError(item)

    def __contains__(self, item):
        return item in self.secrets or item in self.configs

    def get(self, item, default=None):
        try:
            return self[item]
        except KeyError:
            return default

    def keys(self):
        return list(self.secrets) + [k for k in self.configs if k not in self.secrets]

    def is_secret(self, item):
        return item in self.secrets


class CustomStrongTypeConnection(CustomConnection):
    pass


__all__ = [
    "AzureOpenAIConnection", "OpenAIConnection", "ServerlessConnection", "SerpConnection",
    "CognitiveSearchConnection", "AzureContentSafetyConnection", "FormRecognizerConnection",
    "CustomConnection", "CustomStrongTypeConnection",
]
