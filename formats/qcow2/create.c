/*
 * qcow2 image creation, laid out as qemu-img 7.2 does: header (with extensions) in cluster 0,
 * the refcount table in cluster 1, its first refcount block in cluster 2, then the L1 table
 * (exactly l1_size * 8 bytes long at the end of the file), then what preallocation adds.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Order and defaults give qemu-img's "Formatting ..." line. */
const struct bc_opt_desc qcow2_create_opts[] = {
	{ "encryption", BC_OPT_BOOL,
	  "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)", NULL },
	{ "encrypt.format", BC_OPT_STRING, "Encrypt the image, format choices: 'aes', 'luks'", NULL },
	{ "encrypt.key-secret", BC_OPT_STRING, "ID of secret providing qcow AES key or LUKS passphrase",
	  NULL },
	{ "encrypt.cipher-alg", BC_OPT_STRING, "Name of encryption cipher algorithm", NULL },
	{ "encrypt.cipher-mode", BC_OPT_STRING, "Name of encryption cipher mode", NULL },
	{ "encrypt.ivgen-alg", BC_OPT_STRING, "Name of IV generator algorithm", NULL },
	{ "encrypt.ivgen-hash-alg", BC_OPT_STRING, "Name of IV generator hash algorithm", NULL },
	{ "encrypt.hash-alg", BC_OPT_STRING, "Name of encryption hash algorithm", NULL },
	{ "encrypt.iter-time", BC_OPT_NUMBER, "Time to spend in PBKDF in milliseconds", NULL },
	{ "cluster_size", BC_OPT_SIZE, "qcow2 cluster size", "65536" },
	{ "extended_l2", BC_OPT_BOOL, "Extended L2 tables", "off" },
	{ "preallocation", BC_OPT_STRING,
	  "Preallocation mode (allowed values: off, metadata, falloc, full)", NULL },
	{ "compression_type", BC_OPT_STRING,
	  "Compression method used for image cluster compression", "zlib" },
	{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
	{ "compat", BC_OPT_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
	{ "backing_file", BC_OPT_STRING, "File name of a base image", NULL },
	{ "backing_fmt", BC_OPT_STRING, "Image format of the base image", NULL },
	{ "data_file", BC_OPT_STRING, "File name of an external data file", NULL },
	{ "data_file_raw", BC_OPT_BOOL, "The external data file must stay valid as a raw image",
	  NULL },
	{ "lazy_refcounts", BC_OPT_BOOL, "Postpone refcount updates", "off" },
	{ "refcount_bits", BC_OPT_NUMBER, "Width of a reference count entry in bits", "16" },
	{ NULL, 0, NULL, NULL },
};

/* The creation options checked as qemu-img create checks them (measure: as its measure). */
int qcow2_create_params(struct bc_opts *opts, bool measure, uint64_t size,
			struct qcow2_create_params *p, struct bc_err *err)
{
	const char *v;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = bc_opts_validate(opts, qcow2_create_opts, err);
	if (ret < 0)
		return ret;
	v = bc_opts_get(opts, "encrypt.format");
	bool enc = false;
	if (bc_opts_get(opts, "encryption") &&
	    bc_opts_get_bool(opts, "encryption", false, &enc, err) == -EINVAL)
		return -EINVAL;
	if (!measure && v && strcmp(v, "") && strcmp(v, "luks") && strcmp(v, "aes"))
		return bc_err_set(err, -EINVAL, "Parameter 'encrypt.format' does not accept value "
				  "'%s'", v);
	p->luks = v && !strcmp(v, "luks");
	p->aes = enc || (v && !strcmp(v, "aes"));
	/* measure asks only for a LUKS secret, and later (below) */
	if (!measure && (p->luks || p->aes) && (ret = qcow2_crypt_check_secret(opts, err)) < 0)
		return ret;
	ret = measure ? 0 : bc_opts_get_size(opts, "size", 0, &p->size, err);
	if (measure)
		p->size = size;
	if (ret == -EINVAL)
		return ret;
	if (ret == -ENOENT)
		return bc_err_set(err, -EINVAL, "Image creation needs a size parameter");
	ret = bc_opts_get_size(opts, "cluster_size", 65536, &p->cluster_size, err);
	if (ret == -EINVAL)
		return ret;
	if (p->cluster_size < 512 || p->cluster_size > (2u << 20) ||
	    (p->cluster_size & (p->cluster_size - 1)))
		return bc_err_set(err, -EINVAL,
				  "Cluster size must be a power of two between 512 and 2048k");
	v = bc_opts_get(opts, "compat");
	p->version = 3;
	if (v) {
		if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
			p->version = 2;
		else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
			p->version = 3;
		else if (measure)
			return bc_err_set(err, -EINVAL, "Invalid compatibility level: '%s'", v);
		else
			return bc_err_set(err, -EINVAL,
					  "Parameter 'version' does not accept value '%s'", v);
	}
	v = bc_opts_get(opts, "preallocation");
	p->prealloc = BC_PREALLOC_OFF;
	if (v && bc_parse_prealloc(v, &p->prealloc) < 0)
		return bc_err_set(err, -EINVAL, measure ? "invalid parameter value: %s"
						: "Parameter 'preallocation' does not accept value '%s'",
				  v);
	v = bc_opts_get(opts, "compression_type");
	if (v && strcmp(v, "zlib") && !measure) {
		if (strcmp(v, "zstd"))
			return bc_err_set(err, -EINVAL,
					  "Parameter 'compression-type' does not accept value '%s'",
					  v);
		p->compression_type = 1;
	}
	if ((ret = bc_opts_get_bool(opts, "lazy_refcounts", false, &p->lazy, err)) == -EINVAL ||
	    (ret = bc_opts_get_bool(opts, "extended_l2", false, &p->ext_l2, err)) == -EINVAL ||
	    (ret = bc_opts_get_bool(opts, "data_file_raw", false, &p->data_raw, err)) == -EINVAL ||
	    (ret = bc_opts_get_u64(opts, "refcount_bits", 16, &p->refcount_bits, err)) == -EINVAL)
		return ret;
	p->backing_file = bc_opts_get(opts, "backing_file");
	p->backing_fmt = bc_opts_get(opts, "backing_fmt");
	p->data_file = bc_opts_get(opts, "data_file");
	if (p->backing_file && !*p->backing_file)
		p->backing_file = NULL;

	/* qemu's measure checks less than create does (only what the sizes depend on) */
	if (!measure && p->backing_fmt && !p->backing_file)
		return bc_err_set(err, -EINVAL, "Backing format cannot be used without backing file");
	if (!measure && p->data_raw && !p->data_file)
		return bc_err_set(err, -EINVAL, "data-file-raw requires data-file");
	if (!measure && p->data_raw && p->backing_file)
		return bc_err_set(err, -EINVAL,
				  "Backing file and data-file-raw cannot be used at the same time");
	if (p->refcount_bits > 64 || !p->refcount_bits ||
	    (p->refcount_bits & (p->refcount_bits - 1)))
		return bc_err_set(err, -EINVAL,
				  "Refcount width must be a power of two and may not exceed 64 bits");
	if (p->version < 3 && p->refcount_bits != 16)
		return bc_err_set(err, -EINVAL, "Different refcount widths than 16 bits require "
				  "compatibility level 1.1 or above (use %s or greater)",
				  measure ? "compat=1.1" : "version=v3");
	if (p->version < 3 && !measure) {
		if (p->lazy)
			return bc_err_set(err, -EINVAL,
					  "Lazy refcounts only supported with compatibility level "
					  "1.1 and above (use version=v3 or greater)");
		if (p->ext_l2)
			return bc_err_set(err, -EINVAL,
					  "Extended L2 entries are only supported with "
					  "compatibility level 1.1 and above (use version=v3 or "
					  "greater)");
		if (p->data_file)
			return bc_err_set(err, -EINVAL,
					  "External data files are only supported with "
					  "compatibility level 1.1 and above (use version=v3 or "
					  "greater)");
		if (p->compression_type)
			return bc_err_set(err, -EINVAL,
					  "Non-zlib compression type is only supported with "
					  "compatibility level 1.1 and above (use version=v3 or "
					  "greater)");
	}
	if (p->ext_l2 && p->cluster_size < 16384)
		return bc_err_set(err, -EINVAL, "Extended L2 entries are only supported with "
						"cluster sizes of at least 16384 bytes");
	if (!measure && p->backing_file && p->prealloc != BC_PREALLOC_OFF && !p->ext_l2)
		return bc_err_set(err, -EINVAL, "Backing file and preallocation can only be used at "
						"the same time if extended_l2 is on");
	if (!measure && p->size > QCOW2_MAX_VIRTUAL_SIZE)
		return bc_err_set(err, -EFBIG, "Image size too large");
	if (measure && p->luks && (ret = qcow2_crypt_check_secret(opts, err)) < 0)
		return ret;
	/* the L1 table qemu would need stays within its 32 MiB limit */
	uint64_t per_l1 = (uint64_t)p->cluster_size * (p->cluster_size / (p->ext_l2 ? 16 : 8));
	if ((p->size + per_l1 - 1) / per_l1 > QCOW2_MAX_L1_BYTES / 8)
		return bc_err_set(err, -EFBIG, "The image size is too large%s (try using a larger "
				  "cluster size)", measure ? "" : " for file format 'qcow2'");
	if (p->size % 512)
		p->size = qcow2_align_up(p->size, 512);
	return 0;
}

static int write_skeleton(struct bc_file *f, const struct qcow2_create_params *p, struct bc_err *err,
			  const char *filename)
{
	uint64_t cs = p->cluster_size;
	struct qcow2_header h;
	uint8_t *buf = calloc(3, cs);
	int ret, order = 0;

	if (!buf)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	while ((1ull << order) < p->refcount_bits)
		order++;
	memset(&h, 0, sizeof(h));
	h.version = p->version;
	for (h.cluster_bits = 9; (1ull << h.cluster_bits) < cs; h.cluster_bits++)
		;
	h.refcount_table_offset = cs;
	h.refcount_table_clusters = 1;
	h.refcount_order = (uint32_t)order;
	if (p->version >= 3) {
		h.header_length = QCOW2_HEADER_LEN_CT;
		h.compression_type = p->compression_type;
		if (p->compression_type)
			h.incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
		if (p->ext_l2)
			h.incompatible_features |= QCOW2_INCOMPAT_EXTL2;
		if (p->data_file)
			h.incompatible_features |= QCOW2_INCOMPAT_DATA_FILE;
		if (p->data_raw)
			h.autoclear_features |= QCOW2_AUTOCLEAR_DATA_RAW;
		if (p->lazy)
			h.compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
		if (qcow2_set_str(&h.data_file, p->data_file) < 0) {
			ret = bc_err_set(err, -ENOMEM, "Out of memory");
			goto out;
		}
	}
	if (p->backing_file && qcow2_set_str(&h.backing_fmt, p->backing_fmt) < 0) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto out;
	}
	if (qcow2_set_str(&h.backing_file, p->backing_file) < 0) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto out;
	}
	if (p->backing_file && strlen(p->backing_file) > QCOW2_MAX_BACKING_NAME) {
		ret = bc_err_set(err, -EINVAL, "Backing file name too long");
		goto out;
	}
	ret = qcow2_header_serialize(&h, buf, cs);
	if (ret < 0) {
		ret = bc_err_set(err, -EINVAL, "%s: header extensions do not fit in a cluster",
				 filename);
		goto out;
	}
	bc_wr_be64(buf + cs, 2 * cs);
	for (int i = 0; i < 3; i++)
		qcow2_rc_set_entry(buf + 2 * cs, (uint32_t)order, (uint64_t)i, 1);
	/* the refcount table and block first, the header last: a process killed in between
	 * (a fatal signal can cut a multi-page write short) leaves no header, not a header
	 * whose refcount table is missing */
	ret = bc_file_pwrite(f, buf + cs, 2 * cs, cs);
	if (ret >= 0)
		ret = bc_file_pwrite(f, buf, cs, 0);
	if (ret < 0)
		bc_err_set(err, ret, "Could not write qcow2 header: %s", strerror(-ret));
out:
	qcow2_header_free(&h);
	free(buf);
	return ret;
}

int qcow2_create(const char *filename, struct bc_opts *opts, struct bc_err *err)
{
	struct qcow2_create_params p;
	struct bc_image img;
	struct bc_file *f = NULL;
	int ret;

	ret = qcow2_create_params(opts, false, 0, &p, err);
	if (ret < 0)
		return ret;
	if (p.data_file) {
		/* The external data file is created (or truncated) first. */
		struct bc_file *df;
		const char *slash = strrchr(filename, '/');
		char *path;
		if (p.data_file[0] != '/' && slash) {
			size_t dl = (size_t)(slash - filename + 1);
			path = malloc(dl + strlen(p.data_file) + 1);
			if (path) {
				memcpy(path, filename, dl);
				strcpy(path + dl, p.data_file);
			}
		} else {
			path = strdup(p.data_file);
		}
		if (!path)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		ret = bc_create_file(&df, path, err);
		free(path);
		if (ret < 0)
			return ret;
		bc_file_close(df);
	}
	ret = bc_create_file(&f, filename, err);
	if (ret < 0)
		return ret;
	ret = write_skeleton(f, &p, err, filename);
	if (ret == 0)
		ret = bc_file_flush(f);
	if (ret < 0)
		goto out;

	/* The new image is opened as the engine opens any: the driver table (driver.c) is above
	 * this file, so it is found in the engine's registry rather than named. */
	memset(&img, 0, sizeof(img));
	img.fmt = bc_format_find("qcow2");
	img.file = f;
	img.filename = (char *)filename;
	img.flags = BC_OPEN_RDWR | BC_OPEN_NO_BACKING;
	ret = img.fmt->open(&img, err);
	if (ret < 0)
		goto out;
	ret = img.fmt->truncate(&img, p.size, p.prealloc, false, err);
	if (ret == 0 && (p.luks || p.aes))
		ret = qcow2_crypt_create(img.priv, opts, p.luks, err);
	img.fmt->close(&img);
	free(img.backing_name);
	free(img.backing_fmt);
	if (ret == 0)
		ret = bc_file_flush(f);
out:
	bc_file_close(f);
	if (ret < 0 && (p.luks || p.aes))
		unlink(filename);   /* qemu removes what a failed encrypted create left */
	return ret;
}
