#!/bin/sh
# formats/qcow2's files call each other only downwards: the cross-file call graph computed
# from the sources (tests/tools/layering.py) against the layer list at the top of
# formats/qcow2/qcow2.h; no call goes up, so the graph has no cycle. The checker itself is
# tested first on small folders that break the rule in the ways it must catch.
. "$SRC_DIR/tests/lib/tap.sh"
LAYERING="python3 $SRC_DIR/tests/tools/layering.py"

# layering_case NAME WANT_RC [GREP]: runs the checker on ./t (t/h.h lists the layers); passes
# when it exits WANT_RC and its output contains GREP.
layering_case() {
	$LAYERING t t/h.h >out.txt 2>&1
	rc=$?
	[ "$rc" -eq "$2" ] && { [ -z "$3" ] || grep -qF -- "$3" out.txt; }
	tap_result $? "checker: $1" || sed 's/^/# /' out.txt
}

mkdir t
printf '/*\n * Layers, lowest first:\n *   a.c  bottom\n *   b.c  top\n */\n' >t/h.h
printf 'int a_fn(void);\nint a_fn(void)\n{\n\treturn 1;\n}\n' >t/a.c
printf 'int a_fn(void);\nint b_fn(void);\nint b_fn(void)\n{\n\treturn a_fn();\n}\n' >t/b.c
layering_case "a call down passes" 0
printf 'int b_fn(void);\nint a_fn(void);\nint a_fn(void)\n{\n\treturn b_fn();\n}\n' >t/a.c
layering_case "a call up fails and is named" 1 "a.c (a_fn) calls up into b.c: b_fn"
layering_case "the cycle is shown" 1 "cycle: a.c -> b.c -> a.c"
printf 'struct ops { int (*f)(void); };\nint b_fn(void);\nstatic const struct ops o = { .f = b_fn };\nint a_fn(void);\nint a_fn(void)\n{\n\treturn o.f();\n}\n' >t/a.c
layering_case "a function address taken up the layers counts" 1 "a.c (o) calls up into b.c: b_fn"
printf 'struct ops { int b_fn; };\n/* b_fn() */\nint a_fn(struct ops *p);\nint a_fn(struct ops *p)\n{\n\treturn p->b_fn + (int)sizeof("b_fn()");\n}\n' >t/a.c
layering_case "members, comments and strings are no calls" 0
printf 'static int b_fn(void)\n{\n\treturn 0;\n}\n' >t/c.c
layering_case "a file missing from the list fails" 1 "not listed: c.c"
rm t/c.c

(cd "$SRC_DIR" && $LAYERING formats/qcow2 formats/qcow2/qcow2.h) >out.txt 2>&1
echo "rc=$?" >>out.txt
sed -n 's/^\(not \)\{0,1\}ok [0-9]* - //p' out.txt >names.txt
while read -r name; do
	grep -q "^ok [0-9]* - $name\$" out.txt
	tap_result $? "formats/qcow2: $name"
done <names.txt
grep -q '^rc=0$' out.txt || { tap_result 1 "formats/qcow2: checker exit status"; sed 's/^/# /' out.txt; }
echo "1..$tap_n"
[ $tap_failed -eq 0 ]
