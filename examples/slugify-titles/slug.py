from promptflow.core import tool
from slugify import slugify


@tool
def slug(title: str) -> str:
    """A URL slug of the title, from the python-slugify package."""
    return slugify(title)
