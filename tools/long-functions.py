#!/usr/bin/env python3
"""long-functions.py - lists C functions longer than a limit (default 80 lines) below the given
folders (default sim hil vehicles), skipping those whose preceding comment states a reason with
the word "long:" (e.g. "long: one case per firmware frame, as the firmware's switch").
Usage: tools/long-functions.py [--limit N] [DIR...]; exit 1 if any is found."""
import os, re, sys

def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0 and re.search(r"\)\s*$", lines[i - 1]):
            start = i - 1
            while start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith(("}", "/*", " *", "#")) and not lines[start-1].rstrip().endswith(";"):
                start -= 1
            j = i + 1
            while j < len(lines) and lines[j] != "}":
                j += 1
            name = re.search(r"(\w+)\s*\(", " ".join(lines[start:i]))
            k = start - 1
            reason = False
            while k >= 0 and (lines[k].startswith((" *", "/*")) or lines[k].strip().endswith("*/")):
                if "long:" in lines[k]:
                    reason = True
                k -= 1
            yield (name.group(1) if name else "?"), start + 1, j - start + 1, reason
            i = j
        i += 1

def main():
    args = sys.argv[1:]
    limit = 80
    if args[:1] == ["--limit"]:
        limit = int(args[1]); args = args[2:]
    dirs = args or ["sim", "hil", "vehicles"]
    found = 0
    for top in dirs:
        for d, _, fs in os.walk(top):
            if "/tests" in d:
                continue
            for f in sorted(fs):
                if f.endswith(".c"):
                    p = os.path.join(d, f)
                    for name, line, n, reason in functions(p):
                        if n > limit and not reason:
                            print(f"{p}:{line}: {name}() is {n} lines")
                            found += 1
    print(f"long-functions: {found} function(s) over {limit} lines without a stated reason")
    return 1 if found else 0

if __name__ == "__main__":
    sys.exit(main())
