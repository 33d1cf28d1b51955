/* Options, sizes and qemu's human size strings. */
#include "bc.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_sizes(void)
{
	static const struct { const char *in; uint64_t out; int ret; } cases[] = {
		{ "0", 0, 0 }, { "512", 512, 0 }, { "1k", 1024, 0 }, { "1K", 1024, 0 },
		{ "2M", 2u << 20, 0 }, { "1G", 1ull << 30, 0 }, { "3T", 3ull << 40, 0 },
		{ "1P", 1ull << 50, 0 }, { "7E", 7ull << 60, 0 }, { "100b", 100, 0 },
		{ "1.5k", 1536, 0 }, { "1.3k", 1331, 0 }, { "0x10", 16, 0 },
		{ "1X", 0, -EINVAL }, { "-1", 0, -EINVAL }, { "", 0, -EINVAL }, { "1.5", 0, -EINVAL },
		{ "8E", 0, -ERANGE }, { "99999999999999999999", 0, -ERANGE }, { "1k2", 0, -EINVAL },
		{ "0x", 0, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int ret = bc_parse_size(cases[i].in, &v);
		tap_ok(ret == cases[i].ret && (ret < 0 || v == cases[i].out), "parse size '%s' -> %d %llu",
		       cases[i].in, ret, (unsigned long long)v);
	}
}

static void test_size_to_str(void)
{
	static const struct { uint64_t in; const char *out; } cases[] = {
		{ 0, "0 B" }, { 512, "512 B" }, { 999, "999 B" }, { 1000, "0.977 KiB" }, { 1024, "1 KiB" },
		{ 200704, "196 KiB" }, { 1000 * 1024, "0.977 MiB" }, { 1536 * 1024, "1.5 MiB" },
		{ 1ull << 30, "1 GiB" }, { 2297856, "2.19 MiB" }, { 1ull << 62, "4 EiB" },
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_ok(!strcmp(bc_size_to_str(cases[i].in, buf, sizeof(buf)), cases[i].out),
		       "size_to_str(%llu) = '%s' (want '%s')", (unsigned long long)cases[i].in, buf,
		       cases[i].out);
}

static void test_opts(void)
{
	static const struct bc_opt_desc desc[] = {
		{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
		{ "flag", BC_OPT_BOOL, "A flag", "off" },
		{ "name", BC_OPT_STRING, "A name", NULL },
		{ "count", BC_OPT_NUMBER, "A count", "16" },
		{ NULL, BC_OPT_STRING, NULL, NULL },
	};
	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	bool b;
	uint64_t u;

	tap_ok(bc_opts_parse(o, "name=a,,b,flag=on,size=1k", &err) == 0, "parse with escaped comma");
	tap_ok(!strcmp(bc_opts_get(o, "name"), "a,b"), "',,' is a literal comma");
	tap_ok(bc_opts_get_bool(o, "flag", false, &b, &err) == 0 && b, "bool on");
	tap_ok(bc_opts_get_size(o, "size", 0, &u, &err) == 0 && u == 1024, "size 1k");
	tap_ok(bc_opts_get_u64(o, "count", 16, &u, &err) == -ENOENT && u == 16, "default when unset");
	tap_ok(bc_opts_validate(o, desc, &err) == 0, "valid options pass");
	char *line = bc_opts_render(o, desc);
	tap_ok(line && !strcmp(line, "size=1024 flag=on name=a,,b count=16"), "render in table order: %s",
	       line);
	free(line);
	tap_ok(bc_opts_parse(o, "bogus=1", &err) == 0 && bc_opts_validate(o, desc, &err) == -EINVAL &&
	       !strcmp(err.msg, "Invalid parameter 'bogus'"), "unknown key: %s", err.msg);
	bc_opts_free(o);

	o = bc_opts_new();
	bc_opts_parse(o, "flag=maybe", &err);
	tap_ok(bc_opts_validate(o, desc, &err) == -EINVAL &&
	       !strcmp(err.msg, "Parameter 'flag' expects 'on' or 'off'"), "bad bool: %s", err.msg);
	bc_opts_free(o);

	o = bc_opts_new();
	bc_opts_parse(o, "help", &err);
	tap_ok(bc_opts_help_requested(o), "help flag");
	bc_opts_free(o);
}

int main(void)
{
	test_sizes();
	test_size_to_str();
	test_opts();
	return tap_done();
}
