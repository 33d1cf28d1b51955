/* isa.c - the -cpu model string (QEMU 7.2's rv64 properties) and the device tree's riscv,isa.
 *
 * Every boolean property QEMU 7.2's rv64 has is accepted with QEMU's spelling; the ones
 * strata-vm implements as options (RV_EXT_*) switch, the others are fixed and accepted only
 * at strata-vm's value (e.g. h=false: there is no hypervisor extension). "zicond", "zicbom"
 * and "zicboz" are not QEMU 7.2 properties; strata-vm takes them with the names of later QEMU
 * versions, off by default so that the default device tree stays QEMU 7.2's; so are "zicbop",
 * "zihintntl" and "zfa". "debug" (Sdtrig) is QEMU 7.2's, on by default and absent from riscv,isa
 * as there. */
#include "emulator/cpu/isa.h"
#include "emulator/host/parse.h"

#include <stdio.h>
#include <string.h>

struct rv_prop {
	const char *name;
	uint32_t ext; /* RV_EXT_* bit, or 0 for a fixed property */
	bool fixed;   /* the value of a fixed property */
};

static const struct rv_prop props[] = {
	{ "zba", RV_EXT_ZBA, 0 }, { "zbb", RV_EXT_ZBB, 0 }, { "zbc", RV_EXT_ZBC, 0 }, { "zbs", RV_EXT_ZBS, 0 },
	{ "zbkb", RV_EXT_ZBKB, 0 }, { "zbkc", RV_EXT_ZBKC, 0 }, { "zbkx", RV_EXT_ZBKX, 0 },
	{ "svinval", RV_EXT_SVINVAL, 0 }, { "zicond", RV_EXT_ZICOND, 0 }, { "zicbom", RV_EXT_ZICBOM, 0 },
	{ "zicboz", RV_EXT_ZICBOZ, 0 }, { "Zfhmin", RV_EXT_ZFHMIN, 0 }, { "Zfh", RV_EXT_ZFH, 0 },
	{ "svpbmt", RV_EXT_SVPBMT, 0 }, { "svnapot", RV_EXT_SVNAPOT, 0 }, { "debug", RV_EXT_SDTRIG, 0 },
	{ "zicbop", RV_EXT_ZICBOP, 0 }, { "zihintntl", RV_EXT_ZIHINTNTL, 0 }, { "zfa", RV_EXT_ZFA, 0 },
	/* implemented, always on */
	{ "i", 0, true }, { "g", 0, true }, { "m", 0, true }, { "a", 0, true }, { "f", 0, true },
	{ "d", 0, true }, { "c", 0, true }, { "s", 0, true }, { "u", 0, true }, { "Zifencei", 0, true },
	{ "Zicsr", 0, true }, { "Zihintpause", 0, true }, { "mmu", 0, true }, { "pmp", 0, true },
	{ "sstc", 0, true },
	/* not implemented */
	{ "e", 0, false }, { "v", 0, false }, { "h", 0, false }, { "sscofpmf", 0, false },
	{ "Zve32f", 0, false }, { "Zve64f", 0, false }, { "zk", 0, false }, { "zkn", 0, false }, { "zknd", 0, false },
	{ "zkne", 0, false }, { "zknh", 0, false }, { "zkr", 0, false }, { "zks", 0, false },
	{ "zksed", 0, false }, { "zksh", 0, false }, { "zkt", 0, false }, { "zdinx", 0, false },
	{ "zfinx", 0, false }, { "zhinx", 0, false }, { "zhinxmin", 0, false }, { "zmmul", 0, false },
	{ "x-epmp", 0, false }, { "x-smaia", 0, false }, { "x-ssaia", 0, false }, { "x-j", 0, false },
};

static const struct rv_prop *find_prop(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (strlen(props[i].name) == len && !memcmp(props[i].name, name, len))
			return &props[i];
	return NULL;
}

/* One "name=value" item of the model string. */
static int parse_item(const char *item, size_t len, uint32_t *on, uint32_t *off, char *err, size_t errlen)
{
	const char *eq = memchr(item, '=', len);
	if (!eq) {
		snprintf(err, errlen, "Expected key=value format, found %.*s.", (int)len, item);
		return -1;
	}
	size_t klen = (size_t)(eq - item);
	char val[32];
	snprintf(val, sizeof(val), "%.*s", (int)(len - klen - 1), eq + 1);
	const struct rv_prop *p = find_prop(item, klen);
	if (!p) {
		snprintf(err, errlen, "can't apply global rv64-riscv-cpu.%.*s: Property 'rv64-riscv-cpu.%.*s' not found",
			 (int)len, item, (int)klen, item);
		return -1;
	}
	int v = vm_parse_bool(val);
	if (v < 0) {
		snprintf(err, errlen, "can't apply global rv64-riscv-cpu.%.*s: Parameter '%.*s' expects 'on' or 'off'",
			 (int)len, item, (int)klen, item);
		return -1;
	}
	if (!p->ext) {
		if ((bool)v != p->fixed) {
			snprintf(err, errlen, "-cpu rv64,%.*s: strata-vm %s", (int)len, item,
				 p->fixed ? "cannot disable this extension" : "does not implement this extension");
			return -1;
		}
		return 0;
	}
	*on = v ? *on | p->ext : *on & ~p->ext;
	*off = v ? *off & ~p->ext : *off | p->ext;
	return 0;
}

int rv_cpu_model_parse(const char *spec, uint32_t *on, uint32_t *off, char *err, size_t errlen)
{
	size_t mlen = strcspn(spec, ",");
	*on = *off = 0;
	if (mlen == 3 && !memcmp(spec, "max", 3)) {
		*on = RV_EXT_ALL;
	} else if (!(mlen == 4 && !memcmp(spec, "rv64", 4))) {
		snprintf(err, errlen, "unable to find CPU model '%.*s'", (int)mlen, spec);
		return -1;
	}
	for (const char *p = spec + mlen; *p;) {
		p++; /* the comma */
		size_t len = strcspn(p, ",");
		if (parse_item(p, len, on, off, err, errlen))
			return -1;
		p += len;
	}
	return 0;
}

/* Names in QEMU's order: a NULL-ext row is always present. riscv,isa leaves out the rows
 * marked only_ext_list (named only in riscv,isa-extensions, which QEMU 7.2 lacks). */
static const struct {
	uint32_t ext;
	const char *name;
	int only_ext_list;
} names[] = {
	{ RV_EXT_ZICBOM, "zicbom", 0 }, { RV_EXT_ZICBOP, "zicbop", 0 }, { RV_EXT_ZICBOZ, "zicboz", 0 },
	{ 0, "zicntr", 1 }, { RV_EXT_ZICOND, "zicond", 0 }, { 0, "zicsr", 0 }, { 0, "zifencei", 0 },
	{ RV_EXT_ZIHINTNTL, "zihintntl", 0 }, { 0, "zihintpause", 0 }, { 0, "zihpm", 1 }, { RV_EXT_ZFA, "zfa", 0 },
	{ RV_EXT_ZFH, "zfh", 0 }, { RV_EXT_ZFHMIN, "zfhmin", 0 }, { RV_EXT_ZBA, "zba", 0 }, { RV_EXT_ZBB, "zbb", 0 },
	{ RV_EXT_ZBC, "zbc", 0 }, { RV_EXT_ZBKB, "zbkb", 0 }, { RV_EXT_ZBKC, "zbkc", 0 }, { RV_EXT_ZBKX, "zbkx", 0 },
	{ RV_EXT_ZBS, "zbs", 0 }, { RV_EXT_SDTRIG, "sdtrig", 1 }, { 0, "sstc", 0 }, { RV_EXT_SVINVAL, "svinval", 0 },
	{ RV_EXT_SVNAPOT, "svnapot", 0 }, { RV_EXT_SVPBMT, "svpbmt", 0 },
};

void rv_isa_string(uint32_t ext, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "rv64imafdc");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		if (!names[i].only_ext_list && (!names[i].ext || (ext & names[i].ext)))
			n += (size_t)snprintf(buf + n, len - n, "_%s", names[i].name);
}

size_t rv_isa_extensions(uint32_t ext, char *buf, size_t len)
{
	static const char *const base[] = { "i", "m", "a", "f", "d", "c" };
	size_t n = 0;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s", base[i]) + 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!names[i].ext || (ext & names[i].ext))
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s", names[i].name) + 1;
	return n;
}
