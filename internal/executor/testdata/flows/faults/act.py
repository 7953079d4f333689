import os
import sys
import time

from promptflow.core import tool


@tool
def act(mode: str) -> str:
    if mode == "raise":
        raise RuntimeError("tool failed on purpose")
    if mode == "hang":
        print("hanging", flush=True)
        time.sleep(600)
    if mode == "huge":
        for i in range(3000):
            print("noise", i, "z" * 3000)
    if mode == "kill":
        os.kill(os.getpid(), 9)
    if mode == "sleep":
        time.sleep(0.01)
    return "ok:" + mode
