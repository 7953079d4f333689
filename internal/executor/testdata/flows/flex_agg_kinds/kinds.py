class Kinds:
    async def __call__(self, q: str):
        # A primitive is the output `output`; so is a dict's key `output`.
        return q if len(q) > 3 else {"output": q}

    async def __aggregate__(self, results):
        return {"kinds": ",".join(type(r).__name__ for r in results)}
