from promptflow.core import tool
from promptflow.connections import CustomConnection
@tool
def t(conn: CustomConnection, x: str):
    return x
