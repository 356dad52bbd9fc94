"""MkDocs hooks: benchmarks/ (its method, builds, thresholds and results, and the chart) joins the
site at the path it has in the repository, so those pages stay in one place and link as there;
and fastnn.kernels' module docstring fills its API page (griffe's inspection reads the
fastnn._kernels package's docstring in its place)."""
import pathlib
import re

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent


def on_files(files, config):
    for path in sorted((ROOT / "benchmarks").rglob("*")):
        if path.suffix in (".md", ".png"):
            files.append(File(str(path.relative_to(ROOT)), src_dir=str(ROOT),
                              dest_dir=config["site_dir"],
                              use_directory_urls=config["use_directory_urls"]))
    return files


KERNELS_DOC = "<!-- fastnn.kernels' docstring -->"


def on_page_markdown(markdown, page, config, files):
    if KERNELS_DOC not in markdown:
        return markdown
    import fastnn.kernels
    text = fastnn.kernels.__doc__
    # its numpydoc Examples section as a code block
    text = re.sub(r"\nExamples\n-+\n((?:.|\n)*)", lambda m: "\n**Examples**\n\n```python\n"
                  + m.group(1).strip() + "\n```\n", text)
    return markdown.replace(KERNELS_DOC, "## fastnn.kernels\n\n" + text)
