"""The kit's exceptions: library code raises these, the CLI prints them as one line."""


class KitError(Exception):
    """A problem the user can fix; the message says how."""


class DataError(KitError):
    """Data files (NSMC's or your own) are missing, unreadable or malformed."""


class ModelError(KitError):
    """A model or tokenizer cannot be loaded or used as asked."""


class RunError(KitError):
    """An output folder is in a state that would lose work if we went on."""


# The extra that installs a module the kit imports on demand (pip install 'nsmckit[<extra>]').
EXTRA_OF = {
    **dict.fromkeys(("fastapi", "starlette", "pydantic", "uvicorn", "prometheus_client"), "serve"),
    "aiohttp": "loadtest",
    **dict.fromkeys(("openvino", "nncf"), "openvino"),
    **dict.fromkeys(("torch", "transformers", "accelerate", "datasets", "optimum", "onnx", "matplotlib"), "cpu"),
    "onnxruntime": "cpu] or [gpu",
    **dict.fromkeys(("pyarrow", "sklearn", "sentencepiece"), "cpu"),
    "ray": "ray",
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "mlflow": "mlflow",
}


def first_line(error: BaseException) -> str:
    """The first line of an error's message ("" if it has none): what a one-line report quotes of it."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def describe_failure(error: BaseException) -> str | None:
    """One line for a failure a user can act on (the kit's own, I/O, undecodable text, a missing extra,
    memory), else None: an unexpected error, whose traceback is the useful report."""
    if isinstance(error, KitError):
        return str(error)
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.split(".")[0]
        extra = EXTRA_OF.get(top)
        hint = f"pip install 'nsmckit[{extra}]'" if extra else f"pip install {top}"
        return f"the module {top!r} is not installed: {hint}"
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    if isinstance(error, UnicodeError):
        return f"text that is not valid Unicode: {error}"
    if isinstance(error, MemoryError):
        return "out of memory; score in smaller chunks (--chunk-rows) or on a larger machine"
    return None
