"""Rewrite the README's model table from the registry (`make readme`)."""

import re
import sys

from zoo.catalog import BEGIN, END, model_table


def render(text: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no {BEGIN} ... {END} markers")
    return pattern.sub(lambda _: f"{BEGIN}\n{model_table()}\n{END}", text)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "README.md"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(text))
