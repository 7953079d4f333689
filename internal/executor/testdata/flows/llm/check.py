import os

from promptflow.connections import CustomConnection
from promptflow.core import tool


@tool
def check(answer: str, conn: CustomConnection) -> str:
    return "%s|%s|%s|%s" % (answer, conn.endpoint, conn.token == os.environ["SECRET_FROM_CONN"], os.environ["PLAIN"])
