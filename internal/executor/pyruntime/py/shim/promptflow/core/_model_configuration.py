# pfz built-in stand-ins for promptflow's model configurations. A flex flow's
# init argument (or input) annotated with one is built from its dict; with a
# `connection`, pfz fills the endpoint and key from that connection.
from dataclasses import dataclass


@dataclass
class AzureOpenAIModelConfiguration:
    azure_deployment: str
    azure_endpoint: str = None
    api_version: str = None
    api_key: str = None
    connection: str = None

    def __post_init__(self):
        if any([self.azure_endpoint, self.api_key, self.api_version]) and self.connection:
            raise ValueError("Cannot configure model config and connection at the same time.")

    @classmethod
    def from_connection(cls, connection, azure_deployment):
        return cls(azure_deployment=azure_deployment, azure_endpoint=connection.api_base,
                   api_version=connection.api_version, api_key=connection.api_key)

    def __repr__(self):
        # Never show the key.
        return "AzureOpenAIModelConfiguration(azure_deployment=%r, azure_endpoint=%r, api_version=%r, connection=%r)" % (
            self.azure_deployment, self.azure_endpoint, self.api_version, self.connection)


@dataclass
class OpenAIModelConfiguration:
    model: str
    base_url: str = None
    api_key: str = None
    organization: str = None
    connection: str = None

    def __post_init__(self):
        if any([self.base_url, self.api_key, self.organization]) and self.connection:
            raise ValueError("Cannot configure model config and connection at the same time.")

    @classmethod
    def from_connection(cls, connection, model):
        return cls(model=model, base_url=connection.base_url, api_key=connection.api_key,
                   organization=connection.organization)

    def __repr__(self):
        return "OpenAIModelConfiguration(model=%r, base_url=%r, organization=%r, connection=%r)" % (
            self.model, self.base_url, self.organization, self.connection)
