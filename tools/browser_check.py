"""A notebook in a real browser (issue 17): notebook 01 runs in quick mode in a Jupyter kernel,
is exported to HTML with its widget state, and headless Chromium opens the page offline.

Checked:
- while the notebook ran, the live preview was redrawn in place (``update_display_data`` messages
  carrying a PNG, at least two during the first synthesis cell);
- in the page, the movie explorer's picture is shown and is not blank, and pressing the slider's
  arrow key shows another movie (the sliders are linked in the browser: no kernel is needed).
A screenshot goes to ``--out`` (default ``outputs/browser``).

Needs: Chromium (Debian: ``apt-get install chromium``) and, from the npm registry,
``@jupyter-widgets/html-manager@1``, ``requirejs`` and ``playwright-core`` in ``--node-modules``
(``.ci/run`` installs them). Exit status 0 when every check holds, 1 otherwise.

    python tools/browser_check.py --node-modules /tmp/wjs/node_modules
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_content_reconstruction.ipynb"

#: JavaScript: ``launch()`` starts headless Chromium; ``pictures(selector)`` measures the pictures matching a CSS selector, each as its size, the spread of its pixel values
#: (0: blank) and a hash of its pixels (another picture, another hash). Shared with tools/lab_check.py.
PICTURES = r"""const pictures = selector => `(() => Array.from(document.querySelectorAll('${selector}'))
  .filter(e => e.offsetParent !== null)
  .map(img => { const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0); const d = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0, sq = 0, hash = 0;
    for (let i = 0; i < d.length; i += 4) { const v = d[i] + d[i + 1] + d[i + 2]; sum += v; sq += v * v;
      hash = (hash * 31 + v) % 1000000007; }
    const n = Math.max(1, d.length / 4), mean = sum / n;
    return { w: c.width, h: c.height, std: Math.sqrt(sq / n - mean * mean), hash }; }))()`;
// Debian's Chromium, headless, offline: nothing fetched but the page
const launch = () => require(process.argv[2] + '/playwright-core').chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'] });
"""

PAGE_SCRIPT = r"""
const [page_url, shot] = [process.argv[3], process.argv[4]];
const shown = pictures('img.widget-image');
(async () => {
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(page_url);
  await page.waitForSelector('img.widget-image', { timeout: 30000 });
  await page.waitForTimeout(1000);
  const before = await page.evaluate(shown);
  const slider = await page.$('.noUi-handle');
  await slider.scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot });
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(1000);
  const after = await page.evaluate(shown);
  console.log(JSON.stringify({ before, after }));
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
"""


class _Counting(NotebookClient):
    """nbclient, counting the live preview's redraws (display updates carrying a PNG) per cell."""

    redraws: dict

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] == "update_display_data" and "image/png" in msg["content"].get("data", {}):
            self.redraws[cell_index] = self.redraws.get(cell_index, 0) + 1
        return super().process_message(msg, cell, cell_index)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--node-modules", required=True, help="folder with playwright-core, requirejs, @jupyter-widgets")
    p.add_argument("--out", default="outputs/browser")
    args = p.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    modules = Path(args.node_modules).resolve()
    os.environ.update(STYLETF_QUICK="1", STYLETF_PROGRESS="1", STYLETF_OUTPUT=str(out / "figures"), MPLBACKEND="Agg")
    nb = nbformat.read(NOTEBOOK, 4)
    client = _Counting(nb, timeout=1800, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.redraws = {}
    client.execute()
    first_run = next(i for i, c in enumerate(nb.cells) if "coarse_to_fine" in c.source and c.cell_type == "code")
    exporter = HTMLExporter(widget_renderer_url=(modules / "@jupyter-widgets/html-manager/dist/embed-amd.js").as_uri(),
                            require_js_url=(modules / "requirejs/require.js").as_uri())
    html, _ = exporter.from_notebook_node(nb)
    page = out / "01_content_reconstruction.html"
    page.write_text(html)
    script = out / "page_check.js"
    script.write_text(PICTURES + PAGE_SCRIPT)
    shot = out / "01_explorer.png"
    run = subprocess.run(["node", str(script), str(modules), page.as_uri(), str(shot)], capture_output=True, text=True,
                         timeout=300)
    if run.returncode:
        print(f"browser: the page could not be checked:\n{run.stderr[-3000:]}", file=sys.stderr)
        return 1
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    before, after = seen["before"], seen["after"]
    checks = {
        "the live preview was redrawn while the first synthesis ran": client.redraws.get(first_run, 0) >= 2,
        "one picture shows in the explorer": len(before) == 1 and len(after) == 1,
        "the picture is not blank": bool(before) and before[0]["std"] > 5 and before[0]["w"] > 16,
        "the slider shows another movie": bool(before and after) and before[0]["hash"] != after[0]["hash"],
    }
    print(f"preview redraws per cell: {client.redraws}; picture before/after the slider: {before} / {after}; "
          f"screenshot {shot}")
    return report(checks)


def report(checks: dict) -> int:
    """Print each check as ok / FAIL; exit status 0 when all hold."""
    for what, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
