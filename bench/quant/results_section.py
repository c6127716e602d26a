"""Writes one `## Title` section of bench/RESULTS.md below the marker line that bench_peers.py
keeps (everything above the marker belongs to bench_peers.py and is never touched here). A section
of the same title below the marker is replaced in place; otherwise the section is appended."""
import os

KEEP_MARKER = "<!-- Below: figures from other commands, kept by bench_peers.py. -->"


def write_section(results_path, title, body_lines):
    heading = f"## {title}"
    text = open(results_path).read() if os.path.exists(results_path) else ""
    if KEEP_MARKER not in text:
        text = text.rstrip("\n") + ("\n\n" if text else "") + KEEP_MARKER + "\n"
    cut = text.index(KEEP_MARKER) + len(KEEP_MARKER)
    head, tail = text[:cut], text[cut:]
    section = heading + "\n\n" + "\n".join(body_lines).rstrip("\n") + "\n"
    lines = tail.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        tail = tail.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        rest = "\n".join(lines[end:])
        tail = "\n".join(lines[:start] + [""]) + section + ("\n" + rest if rest.strip() else "")
    tmp = results_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(head + tail)
    os.replace(tmp, results_path)
