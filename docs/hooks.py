"""MkDocs hook: benchmarks/ (its method, builds, thresholds and results, and the chart) joins the
site at the path it has in the repository, so those pages stay in one place and link as there."""
import pathlib

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent


def on_files(files, config):
    for path in sorted((ROOT / "benchmarks").rglob("*")):
        if path.suffix in (".md", ".png"):
            files.append(File(str(path.relative_to(ROOT)), src_dir=str(ROOT),
                              dest_dir=config["site_dir"],
                              use_directory_urls=config["use_directory_urls"]))
    return files
