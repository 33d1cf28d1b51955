/* qcow2 header and header extensions: parsing and validation over buffers, serialization. */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct qcow2_feature_name default_features[] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};

int qcow2_set_str(char **dst, const char *src)
{
	char *n = NULL;

	if (src) {
		n = strdup(src);
		if (!n)
			return -ENOMEM;
	}
	free(*dst);
	*dst = n;
	return 0;
}

void qcow2_default_features(struct qcow2_header *h)
{
	size_t n = sizeof(default_features) / sizeof(default_features[0]);

	free(h->features);
	h->features = calloc(n, sizeof(*h->features));
	h->nfeatures = 0;
	if (!h->features)
		return;
	memcpy(h->features, default_features, sizeof(default_features));
	h->nfeatures = (int)n;
}

void qcow2_header_free(struct qcow2_header *h)
{
	struct qcow2_ext *e, *next;

	free(h->backing_file);
	free(h->backing_fmt);
	free(h->data_file);
	free(h->features);
	for (e = h->unknown; e; e = next) {
		next = e->next;
		free(e->data);
		free(e);
	}
	memset(h, 0, sizeof(*h));
}

void qcow2_feature_names(const struct qcow2_header *h, int type, uint64_t mask, char *out,
			 size_t outlen)
{
	size_t used = 0;

	const struct qcow2_feature_name *tab = h->features;
	int n = h->nfeatures;

	if (!tab) {
		tab = default_features;
		n = (int)(sizeof(default_features) / sizeof(default_features[0]));
	}
	out[0] = 0;
	for (int i = 0; i < n && mask; i++) {
		const struct qcow2_feature_name *f = &tab[i];
		if (f->type != type || f->bit > 63 || !(mask & (1ull << f->bit)))
			continue;
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "%s%s",
					 used ? ", " : "", f->name);
		mask &= ~(1ull << f->bit);
		if (used >= outlen)
			return;
	}
	if (mask)
		snprintf(out + used, used < outlen ? outlen - used : 0,
			 "%sUnknown incompatible feature: %llx", used ? ", " : "",
			 (unsigned long long)mask);
}

static char *dup_bytes(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	memcpy(s, p, len);
	s[len] = 0;
	return s;
}

static int parse_extensions(struct qcow2_header *h, const uint8_t *buf, size_t start, size_t end,
			    struct bc_err *err)
{
	struct qcow2_ext **tail = &h->unknown;
	size_t pos = start;

	while (pos < end) {
		/* as qemu: an extension (or its 8-byte head) that runs past the area is refused */
		if (end - pos < 8)
			return bc_err_set(err, -EINVAL, "Header extension too large");
		uint32_t type = bc_rd_be32(buf + pos);
		uint32_t len = bc_rd_be32(buf + pos + 4);
		const uint8_t *d = buf + pos + 8;

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos)
			return bc_err_set(err, -EINVAL, "Header extension too large");
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (len >= 1024)
				return bc_err_set(err, -EINVAL,
						  "ERROR: ext_backing_format: len=%u too large (>=1024)",
						  len);
			free(h->backing_fmt);
			h->backing_fmt = dup_bytes(d, len);
			if (!h->backing_fmt)
				return -ENOMEM;
			h->backing_fmt[strnlen(h->backing_fmt, len)] = 0;
			break;
		case QCOW2_EXT_FEATURES: {
			/* a last entry cut short still names its feature (the rest reads as 0) */
			int n = (int)((len + 47) / 48);
			free(h->features);
			h->features = calloc((size_t)n + 1, sizeof(*h->features));
			if (!h->features)
				return -ENOMEM;
			for (int i = 0; i < n; i++) {
				uint8_t ent[48] = { 0 };
				uint32_t have = len - (uint32_t)i * 48 < 48 ? len - (uint32_t)i * 48 : 48;
				memcpy(ent, d + i * 48, have);
				h->features[i].type = ent[0];
				h->features[i].bit = ent[1];
				memcpy(h->features[i].name, ent + 2, 46);
				h->features[i].name[46] = 0;
			}
			h->nfeatures = n;
			break;
		}
		case QCOW2_EXT_DATA_FILE:
			free(h->data_file);
			h->data_file = dup_bytes(d, len);
			if (!h->data_file)
				return -ENOMEM;
			h->data_file[strnlen(h->data_file, len)] = 0;
			break;
		case QCOW2_EXT_BITMAPS:
		case QCOW2_EXT_CRYPTO:
		default: {
			struct qcow2_ext *e = calloc(1, sizeof(*e));
			if (!e)
				return -ENOMEM;
			e->type = type;
			e->len = len;
			e->data = malloc(len ? len : 1);
			if (!e->data) {
				free(e);
				return -ENOMEM;
			}
			memcpy(e->data, d, len);
			*tail = e;
			tail = &e->next;
			if (type == QCOW2_EXT_BITMAPS)
				h->has_bitmaps_ext = true;
			if (type == QCOW2_EXT_CRYPTO)
				h->has_crypto_ext = true;
			break;
		}
		}
		pos += qcow2_align_up(len, 8) <= end - pos ? qcow2_align_up(len, 8) : end - pos;
	}
	return 0;
}

/* An offset/size pair of a table: aligned, inside the file, not absurd. */
static int check_table(uint64_t off, uint64_t entries, uint64_t entry_len, uint64_t cs,
		       uint64_t max_bytes, uint64_t file_size, const char *what, struct bc_err *err)
{
	if (entries > max_bytes / entry_len)
		return bc_err_set(err, -EFBIG, "%s too large", what);
	if (off % cs || off > file_size || entries * entry_len > file_size - off)
		return bc_err_set(err, -EINVAL, "%s offset invalid", what);
	return 0;
}

int qcow2_header_parse(struct qcow2_header *h, const uint8_t *buf, size_t len, uint64_t file_size,
		       unsigned flags, struct bc_err *err)
{
	bool tables_past_eof = flags & QCOW2_PARSE_PAST_EOF;
	uint64_t cs, ext_end, l2_entries, need_l1;
	int ret;

	memset(h, 0, sizeof(*h));
	/* Bytes past the end of a short file read as zeros (as the host layer does). */
	uint8_t pad[QCOW2_HEADER_LEN_CT];
	if (len < sizeof(pad)) {
		memset(pad, 0, sizeof(pad));
		memcpy(pad, buf, len);
		buf = pad;
		len = sizeof(pad);
	}
	if (bc_rd_be32(buf) != QCOW2_MAGIC)
		return bc_err_set(err, -EINVAL, "Image is not in qcow2 format");
	h->version = bc_rd_be32(buf + 4);
	if (h->version < 2 || h->version > 3)
		return bc_err_set(err, -ENOTSUP, "Unsupported qcow2 version %u", h->version);
	h->backing_file_offset = bc_rd_be64(buf + 8);
	h->backing_file_size = bc_rd_be32(buf + 16);
	h->cluster_bits = bc_rd_be32(buf + 20);
	h->size = bc_rd_be64(buf + 24);
	h->crypt_method = bc_rd_be32(buf + 32);
	h->l1_size = bc_rd_be32(buf + 36);
	h->l1_table_offset = bc_rd_be64(buf + 40);
	h->refcount_table_offset = bc_rd_be64(buf + 48);
	h->refcount_table_clusters = bc_rd_be32(buf + 56);
	h->nb_snapshots = bc_rd_be32(buf + 60);
	h->snapshots_offset = bc_rd_be64(buf + 64);

	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return bc_err_set(err, -EINVAL, "Unsupported cluster size: 2^%u", h->cluster_bits);
	cs = 1ull << h->cluster_bits;

	if (h->version == 2) {
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
	} else {
		h->incompatible_features = bc_rd_be64(buf + 72);
		h->compatible_features = bc_rd_be64(buf + 80);
		h->autoclear_features = bc_rd_be64(buf + 88);
		h->refcount_order = bc_rd_be32(buf + 96);
		h->header_length = bc_rd_be32(buf + 100);
		if (h->header_length < QCOW2_V3_HEADER_LEN)
			return bc_err_set(err, -EINVAL, "qcow2 header too short");
		if (h->header_length > cs)
			return bc_err_set(err, -EINVAL, "qcow2 header exceeds cluster size");
		if (h->header_length > len)
			return bc_err_set(err, -EINVAL,
					  "Could not read qcow2 header: Invalid argument");
		if (h->header_length > QCOW2_V3_HEADER_LEN)
			h->compression_type = buf[104];
	}
	if (h->backing_file_offset > cs)
		return bc_err_set(err, -EINVAL, "Invalid backing file offset");

	/* Extensions: from the end of the header to the backing file name (or cluster end). */
	ext_end = h->backing_file_offset ? h->backing_file_offset : cs;
	if (ext_end > len)
		ext_end = len & ~(size_t)7; /* a short file: what is missing reads as zeros */
	if (ext_end > h->header_length) {
		ret = parse_extensions(h, buf, h->header_length, (size_t)ext_end, err);
		if (ret < 0)
			goto fail;
	}
	if (h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN) {
		char names[512];
		qcow2_feature_names(h, 0, h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN, names,
				    sizeof(names));
		ret = bc_err_set(err, -ENOTSUP, "Unsupported qcow2 feature(s): %s", names);
		goto fail;
	}
	if (h->refcount_order > 6) {
		ret = bc_err_set(err, -EINVAL,
				 "Reference count entry width too large; may not exceed 64 bits");
		goto fail;
	}
	/* qemu 7.2's checks and words, in its order */
	if (h->compression_type > 1) {
		ret = bc_err_set(err, -ENOTSUP, "qcow2: unknown compression type: %u",
				 h->compression_type);
		goto fail;
	}
	if ((h->compression_type == 0) != !(h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
		ret = bc_err_set(err, -EINVAL,
				 "qcow2: Compression type incompatible feature bit must %sbe set",
				 h->compression_type ? "" : "not ");
		goto fail;
	}
	if ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) && h->cluster_bits < 14) {
		ret = bc_err_set(err, -EINVAL, "The cluster size must be at least 16 KiB when "
					       "extended L2 entries are used");
		goto fail;
	}

	/* Backing file name. */
	if (h->backing_file_offset) {
		if (h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
		    h->backing_file_size > cs - h->backing_file_offset) {
			ret = bc_err_set(err, -EINVAL, "Backing file name too long");
			goto fail;
		}
		if (h->backing_file_offset + h->backing_file_size > len) {
			ret = bc_err_set(err, -EINVAL, "Could not read backing file name");
			goto fail;
		}
		if (h->backing_file_size) {
			h->backing_file = dup_bytes(buf + h->backing_file_offset,
						    h->backing_file_size);
			if (!h->backing_file) {
				ret = -ENOMEM;
				goto fail;
			}
		}
	}

	/* Tables. */
	ret = check_table(h->refcount_table_offset, (uint64_t)h->refcount_table_clusters * cs, 1,
			  cs, QCOW2_MAX_REFTABLE_BYTES, tables_past_eof ? UINT64_MAX : file_size,
			  "Reference count table", err);
	if (ret < 0)
		goto fail;
	if (h->refcount_table_clusters == 0) {
		ret = bc_err_set(err, -EINVAL, "Image does not contain a reference count table");
		goto fail;
	}
	if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS && !(flags & QCOW2_PARSE_CHECK)) {
		ret = bc_err_set(err, -EFBIG, "Snapshot table too large");
		goto fail;
	}
	/* as qemu: aligned even when empty; where the entries end is the table reader's
	 * business (a damaged table still lets the image open for check and repair) */
	if (h->snapshots_offset % cs || (h->nb_snapshots && h->snapshots_offset > file_size)) {
		ret = bc_err_set(err, -EINVAL, "Snapshot table offset invalid");
		goto fail;
	}
	l2_entries = cs / ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) ? 16 : 8);
	need_l1 = h->size / (cs * l2_entries) + (h->size % (cs * l2_entries) != 0);
	if ((uint64_t)h->l1_size > QCOW2_MAX_L1_BYTES / 8) {
		ret = bc_err_set(err, -EFBIG, "Active L1 table too large");
		goto fail;
	}
	if (need_l1 > 0x7fffffffu) {
		ret = bc_err_set(err, -EFBIG, "Image is too big");
		goto fail;
	}
	if (h->l1_size < need_l1) {
		ret = bc_err_set(err, -EINVAL, "L1 table is too small");
		goto fail;
	}
	if (h->l1_size) {
		ret = check_table(h->l1_table_offset, h->l1_size, 8, cs, QCOW2_MAX_L1_BYTES,
				  tables_past_eof ? UINT64_MAX : file_size, "Active L1 table", err);
		if (ret < 0)
			goto fail;
	}
	if (h->size > QCOW2_MAX_VIRTUAL_SIZE) {   /* unreachable past the L1 limits; kept */
		ret = bc_err_set(err, -EFBIG, "Image size too large");
		goto fail;
	}
	return 0;
fail:
	qcow2_header_free(h);
	return ret;
}

static size_t put_ext(uint8_t *buf, size_t pos, size_t cap, uint32_t type, const void *data,
		      uint32_t len)
{
	size_t need = 8 + qcow2_align_up(len, 8);

	if (pos + need > cap)
		return 0;
	bc_wr_be32(buf + pos, type);
	bc_wr_be32(buf + pos + 4, len);
	if (len)
		memcpy(buf + pos + 8, data, len);
	return need;
}

int qcow2_header_serialize(const struct qcow2_header *h, uint8_t *buf, size_t cap)
{
	size_t pos, n;

	if (cap < QCOW2_HEADER_LEN_CT)
		return -ENOSPC;
	memset(buf, 0, cap);
	bc_wr_be32(buf, QCOW2_MAGIC);
	bc_wr_be32(buf + 4, h->version);
	bc_wr_be32(buf + 16, h->backing_file ? (uint32_t)strlen(h->backing_file) : 0);
	bc_wr_be32(buf + 20, h->cluster_bits);
	bc_wr_be64(buf + 24, h->size);
	bc_wr_be32(buf + 32, h->crypt_method);
	bc_wr_be32(buf + 36, h->l1_size);
	bc_wr_be64(buf + 40, h->l1_table_offset);
	bc_wr_be64(buf + 48, h->refcount_table_offset);
	bc_wr_be32(buf + 56, h->refcount_table_clusters);
	bc_wr_be32(buf + 60, h->nb_snapshots);
	bc_wr_be64(buf + 64, h->snapshots_offset);
	if (h->version == 2) {
		pos = QCOW2_V2_HEADER_LEN;
	} else {
		uint32_t hl = h->header_length < QCOW2_V3_HEADER_LEN ? QCOW2_HEADER_LEN_CT
								     : h->header_length;
		if (hl > cap)
			return -ENOSPC;
		bc_wr_be64(buf + 72, h->incompatible_features);
		bc_wr_be64(buf + 80, h->compatible_features);
		bc_wr_be64(buf + 88, h->autoclear_features);
		bc_wr_be32(buf + 96, h->refcount_order);
		bc_wr_be32(buf + 100, hl);
		if (hl > QCOW2_V3_HEADER_LEN)
			buf[104] = h->compression_type;
		pos = hl;
	}
	/* Extensions (v2 images have them too), in qemu's order. */
	if (h->backing_fmt) {
		n = put_ext(buf, pos, cap, QCOW2_EXT_BACKING_FMT, h->backing_fmt,
			    (uint32_t)strlen(h->backing_fmt));
		if (!n)
			return -ENOSPC;
		pos += n;
	}
	if (h->data_file) {
		n = put_ext(buf, pos, cap, QCOW2_EXT_DATA_FILE, h->data_file,
			    (uint32_t)strlen(h->data_file));
		if (!n)
			return -ENOSPC;
		pos += n;
	}
	/* qemu writes its feature table into every v3 header, except with clusters of
	 * 4 KiB and less, where it would crowd out the backing file name. */
	if (h->version >= 3 && h->cluster_bits > 12) {
		size_t nf = sizeof(default_features) / sizeof(default_features[0]);
		size_t flen = nf * 48;
		if (pos + 8 + flen > cap)
			return -ENOSPC;
		bc_wr_be32(buf + pos, QCOW2_EXT_FEATURES);
		bc_wr_be32(buf + pos + 4, (uint32_t)flen);
		for (size_t i = 0; i < nf; i++) {
			uint8_t *p = buf + pos + 8 + i * 48;
			p[0] = default_features[i].type;
			p[1] = default_features[i].bit;
			memcpy(p + 2, default_features[i].name, strnlen(default_features[i].name, 46));
		}
		pos += 8 + qcow2_align_up(flen, 8);
	}
	for (const struct qcow2_ext *e = h->unknown; e; e = e->next) {
		n = put_ext(buf, pos, cap, e->type, e->data, e->len);
		if (!n)
			return -ENOSPC;
		pos += n;
	}
	if (pos + 8 > cap)
		return -ENOSPC;
	pos += 8; /* end marker, already zero */
	if (h->backing_file) {
		size_t bl = strlen(h->backing_file);
		if (pos + bl > cap)
			return -ENOSPC;
		bc_wr_be64(buf + 8, pos);
		memcpy(buf + pos, h->backing_file, bl);
		pos += bl;
	}
	return (int)pos;
}
