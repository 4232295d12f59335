#!/usr/bin/env python3
"""check-includes.py - the include graph between the folders of sim/ (and hil/, vehicles/).

Every `#include "folder/file.h"` in a .c or .h file below sim/, hil/ and vehicles/ is an edge
from the including file's folder to the named folder.  The stages of the data flow are ranked
(docs/architecture.md); a folder may include its own headers and those of lower stages only.
A circle between folders, or an include of a higher stage, is printed and fails the check
(exit 1).  Usage: tools/check-includes.py [REPO]  (default: the repository this script is in).
"""
import os
import re
import sys

# Lowest first.  A folder may include only folders of a lower or equal rank (equal = itself).
STAGES = ["core", "model", "notify", "trace", "can", "vehicle", "vehicles", "scenario",
          "record", "hil", "shell", "v3", "fleet", "app"]
RANK = {name: i for i, name in enumerate(STAGES)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(repo, path):
    rel = os.path.relpath(path, repo).split(os.sep)
    if rel[0] == "sim" and len(rel) > 2:
        return rel[1]
    if rel[0] in ("hil", "vehicles"):
        return rel[0]
    return None


def target_of(inc):
    parts = inc.split("/")
    if parts[0] in ("hil", "vehicles"):
        return parts[0]
    if len(parts) > 1 and parts[0] in RANK:
        return parts[0]
    return None


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    edges = {}
    bad = []
    for top in ("sim", "hil", "vehicles"):
        for d, _, files in os.walk(os.path.join(repo, top)):
            if "/tests" in d.replace(os.sep, "/") + "/":
                continue
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, f)
                src = folder_of(repo, path)
                if src is None:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for inc in INCLUDE.findall(text):
                    dst = target_of(inc)
                    if dst is None:
                        if "/" not in inc and top == "sim":
                            bad.append(f"{os.path.relpath(path, repo)}: "
                                       f"#include \"{inc}\" does not name its folder")
                        continue
                    if dst == src:
                        continue
                    edges.setdefault(src, {}).setdefault(dst, os.path.relpath(path, repo))
                    if src not in RANK:
                        bad.append(f"{os.path.relpath(path, repo)}: folder {src} has no stage")
                    elif RANK[dst] > RANK[src]:
                        bad.append(f"{os.path.relpath(path, repo)}: {src} includes the higher "
                                   f"stage {dst} (\"{inc}\")")
    # circles, independent of the ranking
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                bad.append("include circle: " + " -> ".join(cyc) + " (first edge in "
                           + edges[n][m] + ")")
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    for line in bad:
        print(line)
    if bad:
        print(f"check-includes: {len(bad)} problem(s)")
        return 1
    n_edges = sum(len(v) for v in edges.values())
    print(f"check-includes: {len(edges)} folders, {n_edges} folder edges, no circle, "
          "no higher stage included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
