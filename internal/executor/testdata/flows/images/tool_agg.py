from promptflow import log_metric
from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def count_images(images: list, made: list) -> dict:
    # An evaluation's aggregation over the lines' image inputs and outputs.
    kinds = sorted({type(i).__name__ for i in images + made})
    total = sum(len(i) for i in images + made if isinstance(i, Image))
    log_metric("images", len(images) + len(made))
    log_metric("image_bytes", total)
    return {"kinds": kinds, "bytes": total}
