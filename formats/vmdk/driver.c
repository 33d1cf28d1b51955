/*
 * driver.c — the VMDK format driver (VMware virtual disk, as qemu-img 7.2 reads and writes it).
 *
 * Crash-safety invariants. A crash at any point leaves an image that qemu-img check accepts
 * and that reads, for every grain, either its old or its new contents:
 *
 *  1. Grain data before GT entry: a newly allocated grain is written (whole, merged with what
 *     lay below it) and flushed before any grain-table entry points at it. Allocation only
 *     appends at the end of the file, so an interrupted allocation is leaked space, never a
 *     grain shared by two entries.
 *  2. GT before GD: a new grain table (and its redundant twin) is written zeroed and flushed
 *     before a grain-directory entry points at it.
 *  3. Redundant directory too: every GT entry and every GD entry is written to the primary
 *     structure first and then to the redundant one, with the same value, so the two never
 *     disagree about anything but the last update.
 *  4. A grain that has a GT entry is overwritten in place; its entry never changes, except
 *     from "unallocated" or "zeroed" to a sector (allocation) and to "zeroed" by write_zeroes
 *     on whole grains of images with the zeroed-grain feature (old data is then leaked, as
 *     qemu does).
 *  5. streamOptimized extents only ever append (one compressed grain per unallocated grain),
 *     so existing compressed grains are never rewritten. After each flush an end-of-stream
 *     marker follows the last grain, at the append position (the next grain overwrites it).
 *  6. The descriptor's CID changes once per writable open, before the first data write, the
 *     way qemu marks an image as changed for its children.
 */
#include "vmdk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int vmdk_probe(const uint8_t *buf, size_t len, const char *filename)
{
	static const char sig[] = "# Disk DescriptorFile";

	(void)filename;
	if (len >= 4 && bc_rd_le32(buf) == VMDK4_MAGIC)
		return 100;
	if (len >= sizeof(sig) - 1 && !memcmp(buf, sig, sizeof(sig) - 1))
		return 100;
	return 0;
}

/* ---- opening ------------------------------------------------------------------------------ */

static void free_extents(struct vmdk_state *s)
{
	for (int i = 0; i < s->next; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (e->type == VMDK_EXT_SPARSE)
			vmdk_sparse_close(e);
		if (e->own_file && e->file)
			bc_file_close(e->file);
		free(e->name);
		free(e->path);
	}
	free(s->ext);
	s->ext = NULL;
	s->next = 0;
}

static void state_free(struct vmdk_state *s)
{
	if (!s)
		return;
	free_extents(s);
	vmdk_desc_free(&s->desc);
	free(s->desc_text);
	free(s);
}

static unsigned file_flags(const struct bc_image *img)
{
	unsigned f = 0;

	if (img->flags & BC_OPEN_RDWR)
		f |= BC_FILE_RDWR;
	if (img->flags & BC_OPEN_DIRECT)
		f |= BC_FILE_DIRECT;
	if (img->flags & BC_OPEN_UNSAFE)
		f |= BC_FILE_UNSAFE;
	return f;
}

/* Extent names are relative file names below the descriptor's directory. */
static bool name_is_safe(const char *name)
{
	if (!name[0] || name[0] == '/')
		return false;
	for (const char *p = name; *p;) {
		const char *q = strchr(p, '/');
		size_t n = q ? (size_t)(q - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

/*
 * The extent's real path (symlinks resolved) must stay below the descriptor's real directory,
 * so a symlink beside the descriptor cannot make us read /etc/shadow. Paths that do not
 * resolve (missing files, in-memory files) are left to the open that follows.
 */
static int check_inside(const char *desc, const char *path, const char *name, struct bc_err *err)
{
	char *rd = realpath(desc, NULL), *rp = rd ? realpath(path, NULL) : NULL;
	int ret = 0;

	if (rd && rp) {
		size_t dl = (size_t)(strrchr(rd, '/') - rd);
		if (strncmp(rp, rd, dl) || rp[dl] != '/')
			ret = bc_err_set(err, -EACCES, "extent file '%s' resolves to a path outside "
						       "the descriptor's directory", name);
	}
	free(rd);
	free(rp);
	return ret;
}

static bool same_file(struct bc_file *a, struct bc_file *b)
{
	struct stat sa, sb;

	if (a->fd >= 0 && b->fd >= 0 && fstat(a->fd, &sa) == 0 && fstat(b->fd, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return a->path && b->path && !strcmp(a->path, b->path);
}

static int open_extent(struct bc_image *img, struct vmdk_state *s,
		       const struct vmdk_desc_extent *x, uint64_t start, struct bc_err *err)
{
	struct vmdk_extent *e = &s->ext[s->next];
	int ret;

	memset(e, 0, sizeof(*e));
	e->start = start;
	e->length = x->sectors * VMDK_SECTOR;
	if (!strcmp(x->type, "ZERO")) {
		e->type = VMDK_EXT_ZERO;
		e->format_str = "ZERO";
		e->name = strdup("");
		s->next++;
		return e->name ? 0 : bc_err_set(err, -ENOMEM, "Out of memory");
	}
	if (!strcmp(x->type, "FLAT") || !strcmp(x->type, "VMFS")) {
		e->type = VMDK_EXT_FLAT;
		e->format_str = !strcmp(x->type, "FLAT") ? "FLAT" : "VMFS";
		e->flat_offset = x->offset * VMDK_SECTOR;
	} else if (!strcmp(x->type, "SPARSE")) {
		e->type = VMDK_EXT_SPARSE;
		e->format_str = "SPARSE";
	} else {
		return bc_err_set(err, -ENOTSUP, "Unsupported extent type '%s' of '%s'", x->type,
				  x->filename ? x->filename : "");
	}
	if (!name_is_safe(x->filename))
		return bc_err_set(err, -EINVAL,
				  "extent file name '%s' must be a relative path inside the "
				  "descriptor's directory", x->filename);
	e->name = strdup(x->filename);
	e->path = vmdk_path_join(img->filename, x->filename);
	s->next++;   /* from here on free_extents() cleans this one up */
	if (!e->name || !e->path)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	e->read_only = !strcmp(x->access, "RDONLY");
	if (!strcmp(x->access, "NOACCESS"))
		return bc_err_set(err, -ENOTSUP, "extent '%s' has NOACCESS access", x->filename);
	ret = check_inside(img->filename, e->path, x->filename, err);
	if (ret < 0)
		return ret;
	ret = bc_file_open(&e->file, e->path,
			   file_flags(img) & ~(e->read_only ? (unsigned)BC_FILE_RDWR : 0u),
			   img->open_opts->io, err);
	if (ret < 0)
		return ret;
	e->own_file = true;
	if (same_file(e->file, img->file))
		return bc_err_set(err, -ELOOP, "extent file '%s' is the descriptor itself",
				  x->filename);
	/* two sparse extents in one file would allocate over each other */
	for (int i = 0; i < s->next - 1; i++)
		if (s->ext[i].file && (e->type == VMDK_EXT_SPARSE ||
				       s->ext[i].type == VMDK_EXT_SPARSE) &&
		    same_file(e->file, s->ext[i].file))
			return bc_err_set(err, -EINVAL, "extent file '%s' is used by two extents",
					  x->filename);
	if (e->type == VMDK_EXT_SPARSE) {
		ret = vmdk_sparse_open(e, e->path, err);
		if (ret < 0)
			return ret;
		if (e->compressed)
			s->stream = true;
	}
	return 0;
}

/* A descriptor in its own file, naming extent files. */
static int open_text(struct bc_image *img, struct vmdk_state *s, struct bc_err *err)
{
	int64_t flen = bc_file_length(img->file);
	uint64_t start = 0;
	int ret;

	if (flen < 0)
		return bc_err_set(err, (int)flen, "Could not get the size of '%s'", img->filename);
	if (flen > VMDK_MAX_DESC_BYTES)
		return bc_err_set(err, -EFBIG, "File too large");
	s->desc_len = (size_t)flen;
	s->desc_text = calloc(1, s->desc_len + 1);
	if (!s->desc_text)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = vmdk_pread(img->file, s->desc_text, s->desc_len, 0);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not read '%s': %s", img->filename, strerror(-ret));
	ret = vmdk_desc_parse(s->desc_text, s->desc_len, &s->desc, NULL, err);
	if (ret < 0)
		return ret;
	if (!s->desc.create_type)
		return bc_err_set(err, -EINVAL, "invalid VMDK image descriptor");
	if (!strcmp(s->desc.create_type, "vmfsSparse") || !strcmp(s->desc.create_type, "seSparse"))
		return bc_err_set(err, -ENOTSUP, "Unsupported image type '%s'", s->desc.create_type);
	if (s->desc.nextents == 0)
		return bc_err_set(err, -EINVAL, "the descriptor names no extents");
	s->ext = calloc((size_t)s->desc.nextents, sizeof(*s->ext));
	if (!s->ext)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (int i = 0; i < s->desc.nextents; i++) {
		ret = open_extent(img, s, &s->desc.extents[i], start, err);
		if (ret < 0)
			return ret;
		start += s->ext[i].length;
		if (start > VMDK_MAX_SECTORS * VMDK_SECTOR)
			return bc_err_set(err, -EFBIG, "image size too large");
	}
	img->size = start;
	return 0;
}

/* A sparse file with the descriptor inside it (monolithicSparse, streamOptimized). */
static int open_hosted(struct bc_image *img, struct vmdk_state *s, struct bc_err *err)
{
	struct vmdk_extent *e;
	int64_t flen = bc_file_length(img->file);
	int ret;

	s->ext = calloc(1, sizeof(*s->ext));
	if (!s->ext)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	e = &s->ext[0];
	s->next = 1;
	e->type = VMDK_EXT_SPARSE;
	e->format_str = "";
	e->file = img->file;
	e->name = strdup(img->filename);
	e->path = strdup(img->filename);
	if (!e->name || !e->path)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = vmdk_sparse_open(e, NULL, err);
	if (ret < 0)
		return ret;
	e->length = e->hdr.capacity * VMDK_SECTOR;
	img->size = e->length;
	s->stream = e->compressed;
	s->desc_embedded = true;
	/* like qemu, look for the descriptor at sector 1 when the header does not say */
	uint64_t doff = e->hdr.desc_offset ? e->hdr.desc_offset : 1;
	uint64_t dsize = e->hdr.desc_size ? e->hdr.desc_size : 20;
	if (flen >= 0 && dsize <= VMDK_MAX_DESC_BYTES / VMDK_SECTOR &&
	    doff <= (uint64_t)flen / VMDK_SECTOR) {
		s->desc_off = doff * VMDK_SECTOR;
		s->desc_cap = dsize * VMDK_SECTOR;
		s->desc_len = (size_t)s->desc_cap;
		s->desc_text = calloc(1, s->desc_len + 1);
		if (!s->desc_text)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		ret = vmdk_pread(img->file, s->desc_text, s->desc_len, s->desc_off);
		if (ret < 0)
			return bc_err_set(err, ret, "Could not read '%s': %s", img->filename,
					  strerror(-ret));
		struct bc_err tmp;
		if (vmdk_desc_parse(s->desc_text, s->desc_len, &s->desc, NULL, &tmp) < 0)
			memset(&s->desc, 0, sizeof(s->desc));   /* tolerated, as qemu does */
	}
	return 0;
}

static int vmdk_open(struct bc_image *img, struct bc_err *err)
{
	struct vmdk_state *s = calloc(1, sizeof(*s));
	uint8_t magic[4] = { 0 };
	int64_t flen = bc_file_length(img->file);
	int ret;

	if (!s)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	img->priv = s;
	if (flen >= 4) {
		ret = vmdk_pread(img->file, magic, 4, 0);
		if (ret < 0) {
			bc_err_set(err, ret, "Could not read '%s': %s", img->filename, strerror(-ret));
			goto fail;
		}
	}
	if (flen >= 4 && bc_rd_le32(magic) == VMDK4_MAGIC)
		ret = open_hosted(img, s, err);
	else
		ret = open_text(img, s, err);
	if (ret < 0)
		goto fail;
	img->align = VMDK_SECTOR;
	if (s->desc.parent_hint && s->desc.parent_hint[0]) {
		img->backing_name = strdup(s->desc.parent_hint);
		img->backing_fmt = strdup("vmdk");
		if (!img->backing_name || !img->backing_fmt) {
			ret = bc_err_set(err, -ENOMEM, "Out of memory");
			goto fail;
		}
	}
	return 0;
fail:
	free(img->backing_name);
	free(img->backing_fmt);
	img->backing_name = img->backing_fmt = NULL;
	state_free(s);
	img->priv = NULL;
	return ret;
}

static void vmdk_close(struct bc_image *img)
{
	struct vmdk_state *s = img->priv;

	state_free(s);
	img->priv = NULL;
}

/* ---- data path ------------------------------------------------------------------------------ */

static struct vmdk_extent *find_extent(struct vmdk_state *s, uint64_t off)
{
	int lo = 0, hi = s->next - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct vmdk_extent *e = &s->ext[mid];

		if (off < e->start)
			hi = mid - 1;
		else if (off - e->start >= e->length)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

static int vmdk_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	struct vmdk_state *s = img->priv;
	uint8_t *p = buf;

	while (len) {
		struct vmdk_extent *e = find_extent(s, off);
		int ret;

		if (!e)
			return -EIO;
		uint64_t in = off - e->start;
		size_t n = (size_t)(e->length - in < len ? e->length - in : len);
		switch (e->type) {
		case VMDK_EXT_ZERO:
			memset(p, 0, n);
			ret = 0;
			break;
		case VMDK_EXT_FLAT:
			ret = vmdk_pread(e->file, p, n, e->flat_offset + in);
			break;
		default:
			ret = vmdk_sparse_read(img, e, in, p, n);
			break;
		}
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Invariant 6: a new CID, written once per writable open, before the first data write. */
static int update_cid(struct bc_image *img, struct vmdk_state *s)
{
	size_t nlen;
	char *text;
	int ret;

	s->cid_updated = true;
	if (!s->desc_text || !s->desc.has_cid)
		return 0;
	uint32_t cid = vmdk_random_cid();
	text = vmdk_desc_set_cid(s->desc_text, s->desc_len, cid, &nlen);
	if (!text)
		return 0;
	if (s->desc_embedded) {
		if (nlen > s->desc_cap) {
			free(text);
			return 0;
		}
		char *pad = calloc(1, (size_t)s->desc_cap);
		if (!pad) {
			free(text);
			return -ENOMEM;
		}
		memcpy(pad, text, nlen);
		/* rewrite only the sectors the text covers, before and after */
		size_t oldlen = strnlen(s->desc_text, s->desc_len);
		size_t wlen = nlen > oldlen ? nlen : oldlen;
		wlen = (wlen + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
		if (wlen > s->desc_cap)
			wlen = (size_t)s->desc_cap;
		ret = vmdk_pwrite(img->file, pad, wlen, s->desc_off);
		free(pad);
	} else {
		ret = vmdk_pwrite(img->file, text, nlen, 0);
		if (ret == 0 && nlen < s->desc_len)
			ret = bc_file_truncate(img->file, nlen);
	}
	if (ret < 0) {
		free(text);
		return ret;
	}
	free(s->desc_text);
	s->desc_text = text;
	s->desc_len = nlen;
	s->desc.cid = cid;
	return 0;
}

static int vmdk_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	struct vmdk_state *s = img->priv;
	const uint8_t *p = buf;
	int ret;

	if (!s->cid_updated) {
		ret = update_cid(img, s);
		if (ret < 0)
			return ret;
	}
	while (len) {
		struct vmdk_extent *e = find_extent(s, off);

		if (!e)
			return -EIO;
		uint64_t in = off - e->start;
		size_t n = (size_t)(e->length - in < len ? e->length - in : len);
		if (e->read_only)
			return -EACCES;
		switch (e->type) {
		case VMDK_EXT_ZERO:
			ret = -EIO;
			break;
		case VMDK_EXT_FLAT:
			ret = vmdk_pwrite(e->file, p, n, e->flat_offset + in);
			break;
		default:
			ret = e->compressed ? vmdk_stream_write(img, e, in, p, n)
					    : vmdk_sparse_write(img, e, in, p, n);
			break;
		}
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vmdk_flush(struct bc_image *img)
{
	struct vmdk_state *s = img->priv;
	int ret = 0;

	for (int i = 0; i < s->next && ret == 0; i++)
		if (s->ext[i].compressed)
			ret = vmdk_stream_write_eos(&s->ext[i]);
	if (ret == 0)
		ret = bc_file_flush(img->file);
	for (int i = 0; i < s->next && ret == 0; i++)
		if (s->ext[i].own_file)
			ret = bc_file_flush(s->ext[i].file);
	return ret;
}

/* Whole grains of zeroed-grain extents become "zeroed" GT entries; the rest is the engine's. */
/* qemu's vmdk takes compressed writes (convert -c) as normal ones: stream extents compress
 * every grain anyway, the others store it plainly. Length 0 ends the stream: nothing to do,
 * the footer is written at close. */
static int vmdk_write_compressed(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	return len ? vmdk_write(img, off, buf, len) : 0;
}

static int vmdk_write_zeroes(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags)
{
	struct vmdk_state *s = img->priv;
	int ret;

	(void)flags;
	/* dry run: every piece must be whole grains of a zeroed-grain sparse extent */
	for (uint64_t o = off; o < off + len;) {
		struct vmdk_extent *e = find_extent(s, o);
		if (!e || e->type != VMDK_EXT_SPARSE || !e->zero_grain || e->compressed ||
		    e->read_only)
			return -ENOTSUP;
		uint64_t in = o - e->start;
		uint64_t n = e->length - in < off + len - o ? e->length - in : off + len - o;
		if (in % e->grain_bytes || (n % e->grain_bytes && in + n != e->length))
			return -ENOTSUP;
		o += n;
	}
	if (!s->cid_updated) {
		ret = update_cid(img, s);
		if (ret < 0)
			return ret;
	}
	for (uint64_t o = off; o < off + len;) {
		struct vmdk_extent *e = find_extent(s, o);
		uint64_t in = o - e->start;
		uint64_t n = e->length - in < off + len - o ? e->length - in : off + len - o;

		for (uint64_t g = in / e->grain_bytes; g * e->grain_bytes < in + n; g++) {
			ret = vmdk_sparse_set_gte(e, g, VMDK_GTE_ZERO);
			if (ret < 0)
				return ret;
		}
		o += n;
	}
	return 0;
}

static int vmdk_block_status(struct bc_image *img, uint64_t off, uint64_t len,
			     struct bc_extent *ext)
{
	struct vmdk_state *s = img->priv;
	struct vmdk_extent *e = find_extent(s, off);

	if (!e)
		return -EIO;
	uint64_t in = off - e->start;
	if (len > e->length - in)
		len = e->length - in;
	ext->len = len;
	ext->host_file = e->path;
	if (e->type == VMDK_EXT_ZERO) {
		ext->flags = BC_EXT_ALLOCATED | BC_EXT_ZERO;
		return 0;
	}
	if (e->type == VMDK_EXT_FLAT) {
		/* like qemu, holes of the flat file read as zeros (data + zero, with an offset) */
		uint64_t pnum = 0;
		bool data = true;

		ext->flags = BC_EXT_ALLOCATED | BC_EXT_DATA | BC_EXT_OFFSET;
		ext->host_off = e->flat_offset + in;
		if (bc_file_status(e->file, e->flat_offset + in, len, &pnum, &data) == 0 && pnum &&
		    pnum <= len) {
			ext->len = pnum;
			if (!data)
				ext->flags |= BC_EXT_ZERO;
		}
		return 0;
	}
	/* a run of grains with the same kind of status (and contiguous host offsets) */
	unsigned first_flags = 0;
	uint64_t first_host = 0, done = 0;
	for (int steps = 0; done < len && steps < 65536; steps++) {
		uint64_t o = in + done, gin = o % e->grain_bytes;
		uint64_t n = e->grain_bytes - gin < len - done ? e->grain_bytes - gin : len - done;
		uint64_t end;
		uint32_t gte;
		unsigned fl;
		uint64_t host = 0;
		int ret;

		if (vmdk_sparse_no_gt(e, o, &end)) {
			/* a whole missing grain table at once */
			n = end - o < len - done ? end - o : len - done;
			gte = VMDK_GTE_UNALLOC;
		} else if ((ret = vmdk_sparse_lookup(e, o, &gte)) < 0) {
			return ret;
		}
		if (gte == VMDK_GTE_UNALLOC)
			fl = 0;
		else if (gte == VMDK_GTE_ZERO && e->zero_grain)
			fl = BC_EXT_ALLOCATED | BC_EXT_ZERO;
		else if (e->compressed)
			fl = BC_EXT_ALLOCATED | BC_EXT_DATA | BC_EXT_COMPRESSED;
		else {
			fl = BC_EXT_ALLOCATED | BC_EXT_DATA | BC_EXT_OFFSET;
			host = (uint64_t)gte * VMDK_SECTOR + gin;
		}
		if (done == 0) {
			first_flags = fl;
			first_host = host;
		} else if (fl != first_flags || ((fl & BC_EXT_OFFSET) && host != first_host + done)) {
			break;
		}
		done += n;
	}
	ext->len = done;
	ext->flags = first_flags;
	ext->host_off = first_host;
	if (!(first_flags & BC_EXT_OFFSET))
		ext->host_file = NULL;
	return 0;
}

/* ---- info and check --------------------------------------------------------------------- */

static int vmdk_get_info(struct bc_image *img, struct bc_info *info, struct bc_err *err)
{
	struct vmdk_state *s = img->priv;
	struct bc_node *root = bc_node_new(BC_NODE_OBJECT, "vmdk");
	struct bc_node *list;

	if (!root)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (s->ext[0].type == VMDK_EXT_SPARSE) {
		info->cluster_size = (uint32_t)s->ext[0].grain_bytes;
		info->has_cluster_size = true;
	}
	info->whole_clusters = s->stream;   /* append-only compressed grains */
	bc_node_add_uint(root, "cid", s->desc.cid);
	bc_node_add_uint(root, "parent-cid", s->desc.has_parent_cid ? s->desc.parent_cid : 0xffffffffu);
	bc_node_add_str(root, "create-type",
			s->desc.create_type ? s->desc.create_type : "monolithicSparse");
	list = bc_node_add(root, BC_NODE_LIST, "extents");
	for (int i = 0; list && i < s->next; i++) {
		struct vmdk_extent *e = &s->ext[i];
		struct bc_node *x = bc_node_add(list, BC_NODE_OBJECT, NULL);

		if (!x)
			break;
		if (e->compressed)
			bc_node_add_bool(x, "compressed", true);
		bc_node_add_uint(x, "virtual-size", e->length);
		bc_node_add_str(x, "filename", e->path);
		if (e->type == VMDK_EXT_SPARSE)
			bc_node_add_uint(x, "cluster-size", e->grain_bytes);
		bc_node_add_str(x, "format", e->format_str);
	}
	info->specific = root;
	return 0;
}

static int64_t vmdk_allocated_size(struct bc_image *img)
{
	struct vmdk_state *s = img->priv;
	int64_t total = bc_file_allocated(img->file);

	for (int i = 0; i < s->next && total >= 0; i++) {
		if (!s->ext[i].own_file)
			continue;
		int64_t a = bc_file_allocated(s->ext[i].file);
		if (a < 0)
			return a;
		total += a;
	}
	return total;
}

static int add_message(struct bc_check *res, const char *msg)
{
	char **m = realloc(res->messages, sizeof(*m) * (size_t)(res->nmessages + 1));

	if (!m)
		return -ENOMEM;
	res->messages = m;
	m[res->nmessages] = strdup(msg);
	if (!m[res->nmessages])
		return -ENOMEM;
	res->nmessages++;
	return 0;
}

static int vmdk_check(struct bc_image *img, struct bc_check *res, unsigned fix,
		      struct bc_err *err)
{
	struct vmdk_state *s = img->priv;

	(void)fix;
	for (int i = 0; i < s->next; i++) {
		struct vmdk_extent *e = &s->ext[i];
		uint64_t bad = 0;
		int ret;

		if (e->type == VMDK_EXT_ZERO)
			continue;
		if (e->type == VMDK_EXT_FLAT) {
			int64_t flen = bc_file_length(e->file);
			if (flen >= 0 && e->length && e->flat_offset >= (uint64_t)flen) {
				bad = 0;
				ret = 1;
			} else {
				continue;
			}
		} else {
			ret = vmdk_sparse_check(e, res, &bad);
		}
		if (ret < 0)
			return bc_err_set(err, ret, "Could not check '%s': %s", e->path, strerror(-ret));
		if (ret > 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "ERROR: cluster offset for sector %llu points after EOF",
				 (unsigned long long)((e->start + bad) / VMDK_SECTOR));
			res->corruptions++;
			if (add_message(res, msg) < 0)
				return bc_err_set(err, -ENOMEM, "Out of memory");
			/* qemu stops at the first one and fails the check with -EINVAL */
			return bc_err_set(err, -EINVAL, "%s", strerror(EINVAL));
		}
	}
	res->has_stats = false;
	return 0;
}

const struct bc_format bc_format_vmdk = {
	.name = "vmdk",
	.probe = vmdk_probe,
	.create_opts = vmdk_create_opts,
	.create = vmdk_create,
	.open = vmdk_open,
	.close = vmdk_close,
	.read = vmdk_read,
	.write = vmdk_write,
	.write_compressed = vmdk_write_compressed,
	.flush = vmdk_flush,
	.write_zeroes = vmdk_write_zeroes,
	.block_status = vmdk_block_status,
	.get_info = vmdk_get_info,
	.allocated_size = vmdk_allocated_size,
	.check = vmdk_check,
};
