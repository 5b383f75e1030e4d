"""The live preview seen in JupyterLab (issue 17): a JupyterLab server runs, headless Chromium opens
a notebook in it, runs its synthesis cell as a student would (Shift+Enter), and watches the page.

Checked, in the page while the cell runs (its prompt shows ``[*]``):
- the preview picture under the progress bar is redrawn in place: at least two different
  pictures appear in the same output before the cell ends, each not blank;
- the loss curves come with it (the picture is the preview figure, wider than tall);
- redraws replace the picture (never two at once), and it is taken away when the cell ends.
Screenshots during and after the run go to ``--out`` (default ``outputs/lab``).

Needs Chromium and ``playwright-core`` in ``--node-modules`` (as ``tools/browser_check.py``).
Exit status 0 when every check holds, 1 otherwise.

    python tools/lab_check.py --node-modules /tmp/wjs/node_modules
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import PICTURES, report  # noqa: E402  (the page measures and the report, shared)

#: A synthesis long enough for a few 5 s redraws on two CPU cores (about 30 s).
CELL = """import styletf
result = styletf.synthesize("neckarfront", "starry_night", size=96, steps=500, backbone="vgg16-hed",
                            network="auto", optimizer="adam")
print("done", result.steps_done)"""

PAGE_SCRIPT = r"""
const [url, outdir] = [process.argv[3], process.argv[4]];
const outputs = pictures('.jp-Cell .jp-OutputArea-output img');  // the first cell's outputs
const prompt = `(() => { const p = document.querySelector('.jp-Cell .jp-InputPrompt'); return p ? p.textContent : ''; })()`;
(async () => {
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
  await page.waitForSelector('.jp-Notebook .jp-Cell .cm-content', { timeout: 120000 });
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"], .jp-Toolbar-kernelStatus', { timeout: 120000 }).catch(() => {});
  await page.waitForTimeout(3000);  // the kernel starts
  await page.click('.jp-Notebook .jp-Cell .cm-content');
  await page.keyboard.press('Shift+Enter');
  const samples = [];
  const t0 = Date.now();
  let running = true, shot = false;
  const hashes = new Set();
  while (Date.now() - t0 < 240000) {
    await page.waitForTimeout(500);
    const p = await page.evaluate(prompt);
    const pics = await page.evaluate(outputs);
    running = p.includes('*');
    samples.push({ t: (Date.now() - t0) / 1000, running, pics });
    pics.forEach(p => { if (p.w > 1) hashes.add(p.hash); });
    if (running && !shot && hashes.size >= 4) {  // the fourth redraw: a picture emerging
      await page.screenshot({ path: outdir + '/lab_running.png' }); shot = true; }
    if (!running && Date.now() - t0 > 5000) break;
  }
  await page.waitForTimeout(1000);
  samples.push({ t: (Date.now() - t0) / 1000, running: false, pics: await page.evaluate(outputs) });
  await page.screenshot({ path: outdir + '/lab_done.png' });
  console.log(JSON.stringify(samples));
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"lab: no JupyterLab server at {url} after {seconds:.0f} s (see server.log)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--node-modules", required=True, help="folder with playwright-core")
    p.add_argument("--out", default="outputs/lab")
    args = p.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, out / "live_preview.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, STYLETF_PROGRESS="1", JUPYTER_CONFIG_DIR=str(out / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(out / "jupyter-runtime"), JUPYTERLAB_WORKSPACES_DIR=str(out / "workspaces"))
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={out}",
                               *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
                              env=env, stdout=subprocess.DEVNULL, stderr=open(out / "server.log", "w"))
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", 120)
        script = out / "lab_check.js"
        script.write_text(PICTURES + PAGE_SCRIPT)
        run = subprocess.run(["node", str(script), str(Path(args.node_modules).resolve()),
                              f"http://127.0.0.1:{port}/lab/tree/live_preview.ipynb?token={token}", str(out)],
                             capture_output=True, text=True, timeout=420)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if run.returncode:
        print(f"lab: the page could not be checked:\n{run.stderr[-3000:]}", file=sys.stderr)
        return 1
    samples = json.loads(run.stdout.strip().splitlines()[-1])
    during = [s for s in samples if s["running"]]
    seen = {pic["hash"]: pic for s in during for pic in s["pics"] if pic["w"] > 1}
    first_seen = {}
    for s in during:
        for pic in s["pics"]:
            first_seen.setdefault(pic["hash"], s["t"])
    last = samples[-1]["pics"]
    checks = {
        "the cell ran in JupyterLab (prompt [*], then a number)": bool(during) and not samples[-1]["running"],
        "two or more different previews appeared while it ran": len(seen) >= 2,
        "every preview shows a picture, not a blank": bool(seen) and all(p["std"] > 5 for p in seen.values()),
        "the preview holds the loss curves beside the image (wider than tall)":
            bool(seen) and all(p["w"] > 1.5 * p["h"] for p in seen.values()),
        "redraws replace the picture: one preview at most at any time":
            all(sum(p["w"] > 1 for p in s["pics"]) <= 1 for s in samples),
        "the preview is taken away when the run ends": not any(p["w"] > 1 for p in last),
    }
    print(f"lab: {len(during)} samples while running; previews first seen at "
          f"{sorted(round(t, 1) for t in first_seen.values())} s; after the run {len(last)} picture(s); "
          f"screenshots in {out}")
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
