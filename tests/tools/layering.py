#!/usr/bin/env python3
"""Checks that the files of one C folder call each other only downwards.

usage: layering.py DIR HEADER      check DIR/*.c against the layer list in HEADER
       layering.py --graph DIR     print the cross-file references (file -> file: names)

The layer list is a comment block in HEADER: a line containing "Layers, lowest first", then
(after any other lines of prose) one line per file (" *   name.c   what it does"), lowest first. A file may refer only to
files listed above it. A reference is any use, in file A, of a function or object that file
B (B != A) defines without `static`: a call, or its address taken (a function table). The
sources are scanned, not compiled: comments and string literals are removed, preprocessor
lines count as uses only, and a name after `.` or `->` (a struct member) is no use.
Prints one TAP line per check; exits 0 when all pass, 1 otherwise.
"""
import glob
import os
import re
import sys

KEYWORDS = {'if', 'for', 'while', 'switch', 'return', 'sizeof', '__attribute__', 'do', 'else',
            'case', 'defined', 'typeof', '_Static_assert', 'static_assert', '_Alignof'}
TOKEN = re.compile(r'->|[A-Za-z_]\w*|[{}()\[\];=.]')
IDENT = re.compile(r'[A-Za-z_]')
TAGS = ('struct', 'union', 'enum')


def strip(src):
    """src with comments and string/char literals blanked (line breaks kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith('/*', i):
            j = src.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(' ' + '\n' * src.count('\n', i, j))
            i = j
        elif src.startswith('//', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
            out.append(' ')
        elif src[i] in '"\'':
            q, j = src[i], i + 1
            while j < n and src[j] != q:
                j += 2 if src[j] == '\\' else 1
            out.append(' "" ')
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return ''.join(out)


def uses(toks):
    """Identifiers in toks that are not struct members."""
    prev = None
    for t in toks:
        if IDENT.match(t) and prev not in ('.', '->'):
            yield t
        prev = t


def scan(path):
    """(defs, refs): defs maps each top-level name defined in path to True when static;
    refs lists (where, name) for every identifier used (where: the enclosing definition)."""
    text = strip(open(path, encoding='utf-8').read())
    pp = [l for l in text.split('\n') if l.lstrip().startswith('#')]
    body = [l for l in text.split('\n') if not l.lstrip().startswith('#')]
    defs, refs = {}, [(None, x) for x in uses(TOKEN.findall('\n'.join(pp)))]
    depth, stmt, where, inner, body_of = 0, [], None, [], None
    for t in TOKEN.findall('\n'.join(body)):
        if depth:
            if t == '{':
                depth += 1
            elif t == '}':
                depth -= 1
            if depth:
                inner.append(t)
                continue
            if body_of != 'type':  # a struct's members are declarations, not uses
                refs += [(where, x) for x in uses(inner)]
            inner = []
            if body_of == 'type':
                stmt.append('}')   # the declaration goes on after a struct's body
            continue
        if t not in ('{', ';'):
            stmt.append(t)
            continue
        name, body_of = None, None
        if '=' in stmt:            # an object with an initializer
            head = [x for x in stmt[:stmt.index('=')] if IDENT.match(x)]
            name, body_of = (head[-1] if head else None), 'object'
        elif t == '{':             # a function's body, or a struct/union/enum's
            body_of = 'type'
            for k in range(len(stmt) - 1):
                if stmt[k + 1] == '(' and IDENT.match(stmt[k]) and stmt[k] not in KEYWORDS:
                    name, body_of = stmt[k], 'function'
                    break
        elif stmt and IDENT.match(stmt[-1]) and '(' not in stmt and 'extern' not in stmt \
                and 'typedef' not in stmt and len(stmt) > 1 and stmt[-2] not in TAGS:
            name = stmt[-1]        # an object without an initializer
        if name:
            defs.setdefault(name, 'static' in stmt)
        if t == '{':
            depth, where = 1, name
            if body_of == 'function':
                stmt = []
        else:
            refs += [(None, x) for x in uses(stmt) if x != name]
            stmt = []
    return defs, refs


def graph(folder):
    """{(a, b): {(where, name)}}: file a uses name defined (not static) in file b."""
    files = {os.path.basename(p): scan(p) for p in sorted(glob.glob(os.path.join(folder, '*.c')))}
    owner = {}
    for f, (defs, _) in files.items():
        for name, static in defs.items():
            if not static:
                owner.setdefault(name, f)
    edges = {}
    for f, (defs, refs) in files.items():
        for where, name in refs:
            g = owner.get(name)
            if g and g != f and name not in defs:
                edges.setdefault((f, g), set()).add((where or '(file scope)', name))
    return sorted(files), edges


def layer_list(header):
    order, on = [], False
    for line in open(header, encoding='utf-8'):
        if 'Layers, lowest first' in line:
            on = True
            continue
        if on:
            m = re.match(r'\s*\*\s+([\w.-]+\.c)\s', line)
            if m:
                order.append(m.group(1))
            elif order:
                break
    return order


def cycle(files, edges):
    """One cycle of the file graph as a list of files, or None."""
    succ = {f: sorted({b for (a, b) in edges if a == f}) for f in files}
    state, stack = {}, []

    def visit(f):
        state[f] = 1
        stack.append(f)
        for g in succ[f]:
            if state.get(g) == 1:
                return stack[stack.index(g):] + [g]
            if not state.get(g):
                c = visit(g)
                if c:
                    return c
        stack.pop()
        state[f] = 2
        return None

    for f in files:
        if not state.get(f):
            c = visit(f)
            if c:
                return c
    return None


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--graph':
        for (a, b), s in sorted(graph(sys.argv[2])[1].items()):
            print('%s -> %s: %s' % (a, b, ' '.join(sorted({n for _, n in s}))))
        return 0
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, header = sys.argv[1], sys.argv[2]
    files, edges = graph(folder)
    order = layer_list(header)
    failed, n = 0, 0

    def tap(ok, name, details=()):
        nonlocal failed, n
        n += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', n, name))
        for d in details:
            print('# ' + d)
        failed += not ok

    missing = [f for f in files if f not in order]
    extra = [f for f in order if f not in files]
    dup = sorted({f for f in order if order.count(f) > 1})
    tap(order and not missing and not extra and not dup,
        '%s lists every file of %s once (%d layers)' % (os.path.basename(header), folder,
                                                         len(order)),
        ['not listed: ' + f for f in missing] + ['no such file: ' + f for f in extra] +
        ['listed twice: ' + f for f in dup])
    rank = {f: i for i, f in enumerate(order)}
    up = []
    for (a, b), s in sorted(edges.items()):
        if a in rank and b in rank and rank[b] >= rank[a]:
            for where, name in sorted(s):
                up.append('%s (%s) calls up into %s: %s' % (a, where, b, name))
    tap(not up, 'no call goes up the layers (%d file-to-file dependencies)' % len(edges), up)
    c = cycle(files, edges)
    tap(not c, 'the cross-file call graph has no cycle',
        ['cycle: ' + ' -> '.join(c)] if c else [])
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
