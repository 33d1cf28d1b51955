/* test_json.c - the QMP JSON parser, stream splitter and writer (emulator/monitor/json.c):
 * QEMU's texts for each kind of malformed input, escapes and UTF-8 both ways, numbers, the
 * nesting limit, the pretty layout. */
#include "emulator/monitor/json.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses and re-emits text (compact); returns the output or the error text. */
static const char *round_trip(const char *text, bool pretty)
{
	static char out[4096];
	struct vm_json *v;
	char err[256];
	if (vm_json_parse(text, strlen(text), &v, err, sizeof(err))) {
		snprintf(out, sizeof(out), "%s", err);
		return out;
	}
	struct vm_jw w;
	vm_jw_init(&w, pretty);
	vm_jw_value(&w, NULL, v);
	snprintf(out, sizeof(out), "%s", w.oom ? "oom" : w.buf);
	vm_jw_free(&w);
	vm_json_free(v);
	return out;
}

static void same(const char *in, const char *want)
{
	const char *got = round_trip(in, false);
	if (!tap_ok(!strcmp(got, want), "%s -> %s", in, want))
		tap_diag("got %s", got);
}

/* Splits a stream; returns the texts joined by '|'. */
static const char *split(const char *in)
{
	static char out[1024];
	struct vm_json_stream s = { 0 };
	out[0] = 0;
	for (size_t i = 0; in[i]; i++) {
		bool again;
		if (vm_json_stream_feed(&s, in[i], &again) == 1) {
			strncat(out, s.buf, sizeof(out) - strlen(out) - 2);
			strcat(out, "|");
			vm_json_stream_reset(&s);
			if (again)
				i--;
		}
	}
	vm_json_stream_free(&s);
	return out;
}

int main(void)
{
	same("{\"a\":1,\"b\":[true,false,null],\"c\":{}}", "{\"a\": 1, \"b\": [true, false, null], \"c\": {}}");
	same("  [ ]  ", "[]");
	same("-0.5", "-0.5");
	same("1e5", "100000");
	same("12345678901234567890", "12345678901234567890");
	same("-9223372036854775808", "-9223372036854775808");
	same("'single'", "\"single\"");
	same("\"\\u00e9\\ud83d\\ude00/\\/\"", "\"\\u00E9\\uD83D\\uDE00//\"");
	same("\"\xc3\xa9\"", "\"\\u00E9\"");
	same("\"tab\\tnl\\nq\\\"bs\\\\\\b\\f\\r\\u007f\"", "\"tab\\tnl\\nq\\\"bs\\\\\\b\\f\\r\\u007F\"");
	same("@", "JSON parse error, stray '@'");
	same("{\"a\":}", "JSON parse error, expecting value");
	same("{\"a\" 1}", "JSON parse error, missing : in object pair");
	same("{1:2}", "JSON parse error, key is not a string in object");
	same("{\"a\":1,}", "JSON parse error, expecting value");
	same("[1,]", "JSON parse error, expecting value");
	same("{\"a\":1 \"b\":2}", "JSON parse error, expected separator in dict");
	same("[1 2]", "JSON parse error, expected separator in list");
	same("\"\\x\"", "JSON parse error, invalid escape sequence in string");
	same("tru", "JSON parse error, invalid keyword 'tru'");
	same("\"a\xff\"", "JSON parse error, invalid UTF-8 sequence in string");
	same("\"\\ud800\"", "JSON parse error, invalid \\u escape (unpaired surrogate)");
	same("01", "JSON parse error, expecting value");
	same("\"open", "JSON parse error, expecting value");

	char deep[2100];
	memset(deep, '[', 1030);
	memset(deep + 1030, ']', 1030);
	deep[2060] = 0;
	tap_ok(!strcmp(round_trip(deep, false), "JSON nesting depth limit exceeded"), "nesting beyond 1024 is refused (QEMU's text)");
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = 0;
	tap_ok(round_trip(deep, false)[0] == '[', "nesting of 1000 is fine");

	const char *p = round_trip("{\"return\":{},\"id\":[1,{\"a\":[]}]}", true);
	bool pretty_ok = !strcmp(p, "{\n    \"return\": {\n    },\n    \"id\": [\n        1,\n        {\n            \"a\": [\n"
			  "            ]\n        }\n    ]\n}");
	if (!tap_ok(pretty_ok, "pretty layout as QEMU's"))
		tap_diag("%s", p);


	const char *s = split("{\"a\":\"}{\"} [1,[2]]\n\"x\\\"y\" tru\n}{}");
	if (!tap_ok(!strcmp(s, "{\"a\":\"}{\"}|[1,[2]]|\"x\\\"y\"|tru|}|{}|"), "stream splits top-level texts"))
		tap_diag("%s", s);
	return tap_done();
}
