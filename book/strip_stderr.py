"""Drop TensorFlow's start-up log from the stderr of executed chapters.

nbval's fresh run does not see those lines, so stored ones would fail the
comparison; any other stderr (a chapter's own warnings) is kept.
"""

import re
import sys

import nbformat

TF_LOG = re.compile(
    r"(?m)^(?:WARNING: All log messages before absl::InitializeLog\(\).*|"
    r"[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] .*)\n?"
)

for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                out.text = TF_LOG.sub("", out.text)
        cell.outputs = [
            o for o in cell.outputs if o.output_type != "stream" or o.text
        ]
    nbformat.write(nb, path)
