# Writes chat_vectors.json: rendered chat prompts and the messages (or the
# error) promptflow 1.18.5's prompty makes of them. Run with a Python that has
# promptflow==1.18.5 installed:  python gen_chat_vectors.py > chat_vectors.json
import json
import sys

from promptflow.core._prompty_utils import parse_chat

CASES = [
    "system:\nYou are helpful.\nuser:\nhi",
    "system:\nYou are helpful.\n\n\nuser:\n\n\nhi\n\n",
    "# System:\nA\n#user :\nB\n  ASSISTANT:  \nC\n",
    "ſystem:\nlong s is a role word for re, not for lower()\n",
    "preamble\nsystem:\nx",
    "\n\n  \nsystem:\nx",
    "user:\nuser:\nx",
    "user:",
    "user:\nhello\nuser:",
    "function:\nname:\nget_weather\ncontent:\n{\"t\": 1}\n",
    "function:\njust text\n",
    "user:\n## name:\n  alice\n## content:\nhello there\n",
    "assistant:\nsome text name:\nbob\ncontent:\nrest",
    "assistant:\ntool_calls:\n[{'id': 'call_1', 'type': 'function', 'function': {'name': 'f', 'arguments': '{\"a\": 1}'}}]\ntool:\ntool_call_id:\ncall_1\ncontent:\n42\nuser:\nthanks",
    "assistant:\ntool_calls:\n[not python]\n",
    "tool:\nno id here\n",
    "system:\r\nwindows line\r\nuser:\r\nq\r\n",
    "system :\t\nx\nuser\t:\ny",
    "system:\n\u00a0nbsp around\u00a0\n",
    "user:\nline one\n  indented two\n\nthree\n",
    "users:\nnot a role\n",
    "",
    "   ",
]


def main():
    out = []
    for text in CASES:
        try:
            out.append({"text": text, "messages": parse_chat(text)})
        except Exception as e:  # the error message is the expectation
            out.append({"text": text, "error": str(e), "type": type(e).__name__})
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
