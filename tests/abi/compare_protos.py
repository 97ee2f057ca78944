#!/usr/bin/env python3
"""Compare the function prototypes of two MPI standard-ABI headers.

Usage: compare_protos.py OURS.h THEIRS.h

Every callback function typedef and every `PMPI_` function declared in THEIRS (MPIX_ extensions excluded) must be
declared in OURS with the same return and parameter types.  Parameter names and
spelling differences that C treats as identical are ignored: whitespace,
`T x[]` vs `T *x`.  Exit status 1 on any difference.
"""
import re
import sys

DECL = re.compile(r"^\s*([A-Za-z_][\w \t\*]*?)\s*\b(PMPI_\w+)\s*\(([^;]*?)\)\s*;", re.M | re.S)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def norm_type(t):
    return " ".join(t.replace("*", " * ").split())


def norm_param(p):
    p = " ".join(p.split())
    if p in ("...", "void"):
        return p
    m = re.match(r"^(.*?)\s*(\w+)\s*((?:\[\w*\])*)$", p)
    head, name, arrays = m.groups()
    if not head:  # unnamed parameter: the last word was part of the type
        head, arrays = p, ""
    dims = re.findall(r"\[(\w*)\]", arrays)
    t = norm_type(head)
    if dims:  # first dimension decays to a pointer
        rest = "".join(f"[{d}]" for d in dims[1:])
        t = f"{t} (*){rest}" if rest else f"{t} *"
    return t


CBTYPE = re.compile(r"^\s*typedef\s+(\w+)\s*\(?\s*(MPI_\w+)\s*\)?\s*\(([^;]*?)\)\s*;", re.M | re.S)


def protos(path):
    text = strip_comments(open(path).read())
    out = {}
    for ret, name, args in CBTYPE.findall(text):  # callback function types
        params = [norm_param(a) for a in args.split(",")] if args.strip() else []
        out["typedef " + name] = (norm_type(ret), tuple(params))
    for ret, name, args in DECL.findall(text):
        params = [norm_param(a) for a in args.split(",")] if args.strip() else ["void"]
        if params == ["void"]:
            params = []
        out[name] = (norm_type(ret), tuple(params))
    return out


def main():
    ours, theirs = protos(sys.argv[1]), protos(sys.argv[2])
    bad = 0
    for name, sig in sorted(theirs.items()):
        if name.startswith(("PMPIX_", "typedef MPIX_")):
            continue
        if name not in ours:
            print(f"MISSING in ours: {name}")
            bad += 1
        elif ours[name] != sig:
            print(f"DIFFERENT {name}:\n  ours:   {ours[name]}\n  theirs: {sig}")
            bad += 1
    extra = sorted(n for n in ours if n not in theirs)
    for n in extra:
        print(f"note: only in ours: {n}")
    fn = [n for n in theirs if n.startswith("PMPI_")]
    cb = [n for n in theirs if n.startswith("typedef MPI_")]
    print(f"theirs: {len(fn)} PMPI_ prototypes, {len(cb)} callback typedefs (MPIX excluded); "
          f"ours: {len(ours)} declarations; differences: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
