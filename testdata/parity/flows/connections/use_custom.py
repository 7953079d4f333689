from promptflow.connections import CustomConnection
from promptflow.core import tool


@tool
def use_custom(conn: CustomConnection, question: str) -> dict:
    return {
        "type": type(conn).__name__,
        "endpoint": conn.configs["endpoint"],
        "mode": conn.mode,
        "token_length": len(conn.secrets["token"]),
        "question": question,
    }
