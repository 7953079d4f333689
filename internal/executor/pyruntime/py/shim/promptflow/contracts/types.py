# Marker types promptflow tools use in annotations.


class Secret(str):
    pass


class PromptTemplate(str):
    pass


class FilePath(str):
    pass
