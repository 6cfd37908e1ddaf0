"""A student's first run, as README.md's 「開始使用」 says it, timed: fresh clone → venv → student
install → JupyterLab with lesson 01 open → the glossary link opens the glossary; then what the
test command's set-up adds for a maintainer.

It runs the README's student command word for word (the part before ``jupyter lab``) in a fresh
clone of this repository, with Debian's ``python3`` and an environment holding only ``HOME``,
``PATH=/usr/bin:/bin`` and ``LANG`` (no pyenv, no project variables: what a new Debian account
has; the machine's pip configuration, its package index, stays). Then it starts JupyterLab as the
README says (from the course folder, lesson 01 on the command line; ``--allow-root`` when run as
root, as the README tells root users), opens it in headless Chromium, waits for lesson 01, clicks
its link to the glossary and waits for the glossary's tab. The record goes to
``benchmarks/results/first_run_student.json`` (install seconds, venv size, what opened) and two
screenshots beside it.

Usage (needs the maintainer's packages for Playwright, and Debian's chromium)::

    python -m benchmarks.first_run [--python /usr/bin/python3] [--work /tmp/first-run]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from helpers.course import ROOT

RESULTS = ROOT / "benchmarks" / "results"
#: README.md's student command: the set-up before ``python -m jupyter lab``.
README_COMMAND = re.compile(
    r"```bash\n(python3 -m venv \.venv && [^\n]*requirements\.txt) && (python -m jupyter lab [^\n]*)\n```"
)


def student_command(readme: str) -> tuple[str, str]:
    """README's student command split into its install part and its JupyterLab part."""
    match = README_COMMAND.search(readme)
    if match is None:
        raise SystemExit("README.md 沒有學生的安裝指令 (the student command is not in README.md)")
    return match.group(1), match.group(2)


def maintainer_setup(readme: str) -> str:
    """What README.md's test command installs before it runs pytest (its part before ``&&``)."""
    match = re.search(r"<!-- test-command[^\n]*\n```bash\n([^\n]*?) && ", readme)
    if match is None:
        raise SystemExit("README.md 沒有測試指令 (the test command is not in README.md)")
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_run", description=description)
    parser.add_argument("--python", default="/usr/bin/python3", help="the system's python3 (Debian's)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/first-run"))
    args = parser.parse_args(argv)
    if args.work.exists():
        shutil.rmtree(args.work)
    home, course = args.work / "home", args.work / "course"
    home.mkdir(parents=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(course)], check=True)
    install, lab = student_command((course / "README.md").read_text(encoding="utf-8"))
    env = {"HOME": str(home), "PATH": f"{Path(args.python).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    start = time.perf_counter()
    done = subprocess.run(["bash", "-c", install], cwd=course, env=env, capture_output=True, text=True)
    install_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"安裝失敗 (the install failed):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    venv_mb = _size_mb(course / ".venv")

    port, token = _free_port(), secrets.token_hex(8)
    options = f" --no-browser --port {port} --ServerApp.token={token}"
    options += " --allow-root" if os.geteuid() == 0 else ""
    server = subprocess.Popen(
        ["bash", "-c", f". .venv/bin/activate && {lab}{options}"],
        cwd=course,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(args.work / "jupyter.log").open("wb"),
        start_new_session=True,
    )
    record: dict[str, object] = {}
    try:
        record = _open_in_browser(port, token, args.work, lab)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    # then the maintainer's part: what the README's test command installs before it runs pytest
    setup = maintainer_setup((course / "README.md").read_text(encoding="utf-8"))
    start = time.perf_counter()
    done = subprocess.run(
        ["bash", "-c", f". .venv/bin/activate && {setup}"], cwd=course, env=env, check=False
    )
    maintainer = {
        "maintainer_command": setup,
        "maintainer_install_s": round(time.perf_counter() - start, 1),
        "maintainer_venv_mb": round(_size_mb(course / ".venv")),
        "maintainer_install_ok": done.returncode == 0,
    }
    record = {
        "what": "README.md's student set-up in a fresh clone, Debian's python3, a bare environment",
        "command": f"{install} && {lab}",
        "python": subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "install_s": round(install_s, 1),
        "venv_mb": round(venv_mb),
        **record,
        **maintainer,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in ("lesson01.png", "glossary.png"):
        if (args.work / name).exists():
            shutil.copyfile(args.work / name, RESULTS / f"first_run_{name}")
    out = RESULTS / "first_run_student.json"
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record, ensure_ascii=False, indent=1))
    return 0 if record.get("glossary_opened") else 1


def _open_in_browser(port: int, token: str, work: Path, lab: str) -> dict[str, object]:
    """Open JupyterLab, wait for lesson 01, click its glossary link, wait for the glossary."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - a maintainer's package

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    while True:  # the server is up when its API answers
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.perf_counter() - start > 180:
                raise SystemExit("JupyterLab 沒有啟動 (JupyterLab did not start): see jupyter.log") from None
            time.sleep(0.5)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # what the browser JupyterLab starts would open: the file named on the command line
        lesson = lab.split()[-1]
        page.goto(f"{base}/lab/tree/{lesson}?token={token}")
        title = page.locator(".jp-Notebook .jp-RenderedMarkdown h1", has_text="01 資料形狀").first
        title.wait_for(timeout=120_000)
        lab_s = time.perf_counter() - start
        tab = page.locator(".lm-TabBar-tabLabel", has_text="01_data_shapes.ipynb").first.is_visible()
        page.screenshot(path=str(work / "lesson01.png"))
        page.get_by_role("link", name="術語表（glossary）").first.click()
        page.locator(".lm-TabBar-tabLabel", has_text="GLOSSARY.md").first.wait_for(timeout=60_000)
        page.locator(".jp-RenderedMarkdown h1", has_text="術語表（Glossary）").first.wait_for(timeout=60_000)
        page.screenshot(path=str(work / "glossary.png"))
        browser.close()
    root = re.search(r"Serving notebooks from local directory: (\S+)", (work / "jupyter.log").read_text())
    return {
        "server_root": Path(root.group(1)).name if root else None,
        "lab_ready_s": round(lab_s, 1),
        "lesson01_tab_open": bool(tab),
        "glossary_opened": True,
    }


if __name__ == "__main__":
    sys.exit(main())
