from promptflow.connections import CustomConnection
from promptflow.core import tool


@tool
def use(conn: CustomConnection, q: str) -> str:
    return q
