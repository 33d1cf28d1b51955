/*
 * create.c — creating VMDK images the way qemu-img 7.2 does: the same option table (its order
 * is the order of qemu-img's "Formatting ..." line), the same file layout and descriptor text.
 */
#include "vmdk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const struct bc_opt_desc vmdk_create_opts[] = {
	{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
	{ "adapter_type", BC_OPT_STRING,
	  "Virtual adapter type, can be one of ide (default), lsilogic, buslogic or legacyESX", NULL },
	{ "backing_file", BC_OPT_STRING, "File name of a base image", NULL },
	{ "backing_fmt", BC_OPT_STRING, "Must be 'vmdk' if present", NULL },
	{ "compat6", BC_OPT_BOOL, "VMDK version 6 image", "off" },
	{ "hwversion", BC_OPT_STRING, "VMDK hardware version", "undefined" },
	{ "toolsversion", BC_OPT_STRING, "VMware guest tools version", NULL },
	{ "subformat", BC_OPT_STRING,
	  "VMDK flat extent format, can be one of {monolithicSparse (default) | monolithicFlat | "
	  "twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized} ", NULL },
	{ "zeroed_grain", BC_OPT_BOOL, "Enable efficient zero writes using the zeroed-grain GTE feature",
	  NULL },
	/* host-file options: accepted, not listed by -o help (help NULL), as qemu-img lists them */
	{ "nocow", BC_OPT_BOOL, NULL, NULL },
	{ "preallocation", BC_OPT_STRING, NULL, NULL },
	{ "extent_size_hint", BC_OPT_SIZE, NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

#define TWO_GB_SECTORS (UINT64_C(2) * 1024 * 1024 * 1024 / VMDK_SECTOR)

uint32_t vmdk_random_cid(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
		return v;
	return (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
}

char *vmdk_path_join(const char *base_file, const char *name)
{
	return bc_resolve_relative(base_file, name);
}

struct create_args {
	const char *filename;
	uint64_t sectors;
	const char *subformat, *adapter, *hwversion, *toolsversion, *backing;
	bool zeroed_grain;
	uint32_t parent_cid;
};

static int create_sparse_file(const char *path, uint64_t sectors, bool zeroed, bool compressed,
			      const char *desc, struct bc_err *err)
{
	struct vmdk_header h;
	struct bc_file *f;
	int ret;

	vmdk_sparse_layout(&h, sectors, zeroed, compressed);
	ret = bc_create_file(&f, path, err);
	if (ret < 0)
		return ret;
	ret = vmdk_sparse_init_file(f, &h, desc, err, path);
	bc_file_close(f);
	return ret;
}

static int create_flat_file(const char *path, uint64_t sectors, struct bc_err *err)
{
	struct bc_file *f;
	int ret = bc_create_file(&f, path, err);

	if (ret < 0)
		return ret;
	ret = bc_file_truncate(f, sectors * VMDK_SECTOR);
	if (ret == 0 && sectors) {
		/* like qemu, allocate the first block (what `disk size` then shows) */
		static const uint8_t zeros[4096];
		uint64_t n = sectors * VMDK_SECTOR < sizeof(zeros) ? sectors * VMDK_SECTOR : sizeof(zeros);
		ret = bc_file_pwrite(f, zeros, (size_t)n, 0);
	}
	bc_file_close(f);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not resize '%s': %s", path, strerror(-ret));
	return 0;
}

static int append(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char line[4400];

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	char *p = realloc(*buf, *len + (size_t)n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, line, (size_t)n + 1);
	*buf = p;
	*len += (size_t)n;
	return 0;
}

/* Split images: extent files named prefix-s001.ext / prefix-f001.ext next to the descriptor. */
static int create_split(const struct create_args *a, bool flat, bool split, char **lines,
			struct bc_err *err)
{
	const char *base = strrchr(a->filename, '/');
	base = base ? base + 1 : a->filename;
	const char *dot = strrchr(base, '.');
	size_t plen = dot ? (size_t)(dot - base) : strlen(base);
	const char *ext = dot ? dot : "";
	size_t llen = 0;
	uint64_t left = a->sectors;
	int idx = 1, ret = 0;

	*lines = NULL;
	/* like qemu, a zero-sized image gets a descriptor without extents */
	while (left > 0) {
		uint64_t n = split && left > TWO_GB_SECTORS ? TWO_GB_SECTORS : left;
		char name[4200], *path;

		if (split)
			snprintf(name, sizeof(name), "%.*s-%c%03d%s", (int)plen, base, flat ? 'f' : 's',
				 idx, ext);
		else
			snprintf(name, sizeof(name), "%.*s-flat%s", (int)plen, base, ext);
		path = vmdk_path_join(a->filename, name);
		if (!path)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		ret = flat ? create_flat_file(path, n, err)
			   : create_sparse_file(path, n, a->zeroed_grain, false, NULL, err);
		free(path);
		if (ret < 0)
			return ret;
		ret = flat ? append(lines, &llen, "RW %llu FLAT \"%s\" 0\n", (unsigned long long)n, name)
			   : append(lines, &llen, "RW %llu SPARSE \"%s\"\n", (unsigned long long)n, name);
		if (ret < 0)
			return bc_err_set(err, ret, "Could not describe extent '%s'", name);
		left -= n;
		idx++;
	}
	if (!*lines && !(*lines = strdup("")))
		return bc_err_set(err, -ENOMEM, "Out of memory");
	return 0;
}

static int write_text_file(const char *path, const char *text, struct bc_err *err)
{
	struct bc_file *f;
	int ret = bc_create_file(&f, path, err);

	if (ret < 0)
		return ret;
	ret = bc_file_pwrite(f, text, strlen(text), 0);
	if (ret == 0)
		ret = bc_file_flush(f);
	bc_file_close(f);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not write descriptor '%s': %s", path, strerror(-ret));
	return 0;
}

static int backing_cid(const char *filename, const char *backing, const char *bfmt,
		       uint32_t *cid, struct bc_err *err)
{
	struct bc_open_opts bo = { .format = NULL, .flags = BC_OPEN_NO_BACKING | BC_OPEN_SHARE };
	struct bc_image *b;
	char *path;
	int ret;

	if (bfmt && strcmp(bfmt, "vmdk"))
		return bc_err_set(err, -EINVAL, "backing_file must be a vmdk image");
	path = bc_resolve_relative(filename, backing);
	if (!path)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = bc_open(&b, path, &bo, err);
	free(path);
	if (ret < 0)
		return ret;
	if (b->fmt != &bc_format_vmdk) {
		bc_close(b);
		return bc_err_set(err, -EINVAL, "backing_file must be a vmdk image");
	}
	*cid = ((struct vmdk_state *)b->priv)->desc.cid;
	bc_close(b);
	return 0;
}

int vmdk_create(const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	struct create_args a = { .filename = filename, .parent_cid = 0xffffffffu };
	uint64_t size;
	bool compat6 = false;
	char *lines = NULL, *desc = NULL;
	int ret;

	ret = bc_opts_get_size(opts, "size", 0, &size, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	if (size > VMDK_MAX_SECTORS * VMDK_SECTOR)
		return bc_err_set(err, -EFBIG, "The image size is too large for file format 'vmdk'");
	a.sectors = (size + VMDK_SECTOR - 1) / VMDK_SECTOR;
	a.adapter = bc_opts_get(opts, "adapter_type");
	if (!a.adapter)
		a.adapter = "ide";
	if (strcmp(a.adapter, "ide") && strcmp(a.adapter, "lsilogic") &&
	    strcmp(a.adapter, "buslogic") && strcmp(a.adapter, "legacyESX"))
		return bc_err_set(err, -EINVAL, "invalid parameter value: %s", a.adapter);
	a.subformat = bc_opts_get(opts, "subformat");
	if (!a.subformat)
		a.subformat = "monolithicSparse";
	bool mono_sparse = !strcmp(a.subformat, "monolithicSparse");
	bool mono_flat = !strcmp(a.subformat, "monolithicFlat");
	bool split_sparse = !strcmp(a.subformat, "twoGbMaxExtentSparse");
	bool split_flat = !strcmp(a.subformat, "twoGbMaxExtentFlat");
	bool stream = !strcmp(a.subformat, "streamOptimized");
	if (!mono_sparse && !mono_flat && !split_sparse && !split_flat && !stream)
		return bc_err_set(err, -EINVAL, "invalid parameter value: %s", a.subformat);
	ret = bc_opts_get_bool(opts, "compat6", false, &compat6, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	ret = bc_opts_get_bool(opts, "zeroed_grain", false, &a.zeroed_grain, err);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	a.hwversion = bc_opts_get(opts, "hwversion");
	if (a.hwversion && !strcmp(a.hwversion, "undefined"))
		a.hwversion = NULL;
	if (a.hwversion && compat6)
		return bc_err_set(err, -EINVAL, "compat6 cannot be enabled with hwversion set");
	if (!a.hwversion)
		a.hwversion = compat6 ? "6" : "4";
	a.toolsversion = bc_opts_get(opts, "toolsversion");
	if (!a.toolsversion)
		a.toolsversion = "2147483647";
	if ((mono_flat || split_flat) && a.zeroed_grain)
		return bc_err_set(err, -EINVAL, "Flat image can't enable zeroed grain");
	a.backing = bc_opts_get(opts, "backing_file");
	if (a.backing && !a.backing[0])
		a.backing = NULL;
	if (a.backing) {
		if (mono_flat || split_flat)
			return bc_err_set(err, -ENOTSUP, "Flat image can't have backing file");
		ret = backing_cid(filename, a.backing, bc_opts_get(opts, "backing_fmt"), &a.parent_cid,
				  err);
		if (ret < 0)
			return ret;
	}

	struct vmdk_desc_params dp = {
		.cid = vmdk_random_cid(), .parent_cid = a.parent_cid, .create_type = a.subformat,
		.parent_hint = a.backing, .hwversion = a.hwversion, .adapter_type = a.adapter,
		.toolsversion = a.toolsversion, .total_sectors = a.sectors,
	};
	if (mono_sparse || stream) {
		const char *base = strrchr(filename, '/');
		size_t llen = 0;

		ret = append(&lines, &llen, "RW %llu SPARSE \"%s\"\n", (unsigned long long)a.sectors,
			     base ? base + 1 : filename);
		if (ret < 0) {
			ret = bc_err_set(err, ret, "Could not describe extent of '%s'", filename);
			goto out;
		}
		dp.extent_lines = lines;
		desc = vmdk_desc_format(&dp);
		if (!desc) {
			ret = bc_err_set(err, -ENOMEM, "Out of memory");
			goto out;
		}
		if (strlen(desc) > 20 * VMDK_SECTOR) {
			ret = bc_err_set(err, -ENAMETOOLONG, "Descriptor of '%s' is too long", filename);
			goto out;
		}
		ret = create_sparse_file(filename, a.sectors, a.zeroed_grain, stream, desc, err);
		goto out;
	}
	ret = create_split(&a, mono_flat || split_flat, split_sparse || split_flat, &lines, err);
	if (ret < 0)
		goto out;
	dp.extent_lines = lines;
	desc = vmdk_desc_format(&dp);
	if (!desc) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto out;
	}
	ret = write_text_file(filename, desc, err);
out:
	free(lines);
	free(desc);
	return ret;
}
