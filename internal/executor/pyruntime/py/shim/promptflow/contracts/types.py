# Marker types promptflow tools use in annotations.


class Secret(str):
    pass


class PromptTemplate(str):
    pass


class FilePath(str):
    pass


class AssistantDefinition:
    """An assistant's definition (model, instructions, raw tool definitions),
    the value of an input of type assistant_definition."""

    def __init__(self, model, instructions, tools):
        self.model = model
        self.instructions = instructions
        self.tools = tools
        self._tool_invoker = None  # promptflow injects its tool invoker here

    @staticmethod
    def deserialize(data):
        return AssistantDefinition(
            model=data.get("model", ""), instructions=data.get("instructions", ""), tools=data.get("tools", [])
        )

    def serialize(self):
        return {"model": self.model, "instructions": self.instructions, "tools": self.tools}

    def __eq__(self, other):
        if not isinstance(other, AssistantDefinition):
            return NotImplemented
        return (self.model, self.instructions, self.tools) == (other.model, other.instructions, other.tools)

    def __repr__(self):
        return "AssistantDefinition(model=%r, instructions=%r, tools=%r)" % (self.model, self.instructions, self.tools)
