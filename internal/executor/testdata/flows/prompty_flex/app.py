from pathlib import Path

from promptflow.core import AzureOpenAIModelConfiguration, Prompty

HERE = Path(__file__).parent


def ask(question: str) -> dict:
    p = Prompty.load(source=HERE / "echo.prompty",
                     model={"configuration": AzureOpenAIModelConfiguration(azure_deployment="dep2", connection="aoai")})
    try:
        p()
        missing = ""
    except Exception as e:  # the prompty's own error, named as promptflow names it
        missing = "%s: %s" % (type(e).__name__, e)
    return {"answer": p(question=question), "rendered": p.render(question=question), "missing": missing}
