#!/usr/bin/env python3
"""Writes the link order file of the functions a profiled agent and server executed.

usage: hot_text_order.py BINARY OUT AGENT.callgrind SERVER.callgrind

Callgrind names every function that ran (`fn=` / `cfn=` lines, mangled with --demangle=no);
those that the binary defines go to OUT, the agent's first, then the server's, each group in
the binary's address order. `lld --symbol-ordering-file` then places them at the start of
.text, so a process maps the few MB of code it runs instead of scattered large page-cache folios.
"""
import bisect
import re
import subprocess
import sys

binary, out, *profiles = sys.argv[1:]
symbols = []
for line in subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split(maxsplit=2)
    if len(parts) == 3 and parts[1] in "tTwW":
        symbols.append((int(parts[0], 16), parts[2]))
symbols.sort()
addresses = [a for a, _ in symbols]
address_of = {}
for address, name in symbols:
    address_of.setdefault(name, address)


def executed(profile):
    names = set()
    for line in open(profile, errors="replace"):
        match = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
        if not match:
            continue
        name = re.sub(r"'\d+$", "", match.group(1))  # callgrind's recursion suffix
        if name in address_of:
            names.add(name)
        elif name.startswith("0x"):  # no symbol at that address: the enclosing function
            address = int(name, 16)
            index = bisect.bisect_right(addresses, address) - 1
            if index >= 0 and address - addresses[index] < 1 << 16:
                names.add(symbols[index][1])
    return names


seen, order = set(), []
for profile in profiles:
    for name in sorted(executed(profile) - seen, key=address_of.get):
        seen.add(name)
        order.append(name)
with open(out, "w") as file:
    file.write("\n".join(order) + "\n")
print(f"{len(order)} functions -> {out}", file=sys.stderr)
