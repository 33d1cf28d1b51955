/*
 * io-misc.c — the commands about the image rather than its data: length, info, map, alloc,
 * flush, discard, truncate. map and alloc report what the top layer allocates, as qemu-io's
 * bdrv_is_allocated does (a range only the backing file holds is "not allocated").
 */
#include "io.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int io_cmd_length(struct io_state *st, int argc, char **argv)
{
	char s[64];

	(void)argc, (void)argv;
	io_cvtstr((double)bc_length(st->img), s, sizeof(s));
	printf("%s\n", s);
	return 0;
}

static void dump_node(const struct bc_node *n, int indent);

static void dump_children(const struct bc_node *parent, int indent)
{
	const struct bc_node *c;
	int i = 0;

	for (c = parent->child; c; c = c->next) {
		bool composite = c->type == BC_NODE_OBJECT || c->type == BC_NODE_LIST;
		const char *k;

		printf("%*s", indent * 4, "");
		if (parent->type == BC_NODE_LIST) {
			printf("[%d]:", i++);
		} else {
			for (k = c->key ? c->key : ""; *k; k++)
				putchar(*k == '-' ? ' ' : *k);
			putchar(':');
		}
		putchar(composite ? '\n' : ' ');
		dump_node(c, indent + 1);
		if (!composite)
			putchar('\n');
	}
}

/* qemu's dump of a QAPI object: "key: value", dashes in keys shown as spaces. */
static void dump_node(const struct bc_node *n, int indent)
{
	switch (n->type) {
	case BC_NODE_OBJECT:
	case BC_NODE_LIST: dump_children(n, indent); break;
	case BC_NODE_STRING: printf("%s", n->str ? n->str : ""); break;
	case BC_NODE_INT: printf("%" PRId64, n->i); break;
	case BC_NODE_UINT: printf("%" PRIu64, n->u); break;
	case BC_NODE_BOOL: printf("%s", n->b ? "true" : "false"); break;
	}
}

static const struct bc_node *find_child(const struct bc_node *n, const char *key)
{
	for (n = n ? n->child : NULL; n; n = n->next)
		if (n->key && !strcmp(n->key, key))
			return n;
	return NULL;
}

/* Where qcow2 keeps the VM state: after the guest data, at an L1-entry boundary. */
static uint64_t vm_state_offset(const struct bc_info *info)
{
	const struct bc_node *ext = find_child(info->specific, "extended-l2");
	uint64_t entry, span;

	if (strcmp(info->format, "qcow2") || !info->cluster_size)
		return 0;
	entry = ext && ext->type == BC_NODE_BOOL && ext->b ? 16 : 8;
	span = (uint64_t)info->cluster_size * (info->cluster_size / entry);
	return (info->virtual_size + span - 1) / span * span;
}

int io_cmd_info(struct io_state *st, int argc, char **argv)
{
	struct bc_info info = { 0 };
	struct bc_err err = { 0 };
	char s1[64], s2[64];
	int ret;

	(void)argc, (void)argv;
	ret = bc_get_info(st->img, &info, &err);
	if (ret < 0) {
		printf("format name: %s\n", bc_format_name(st->img));
		return ret;
	}
	/* a protocol given as the driver: qemu-io names it again by its protocol name; for
	 * driver=nbd that is "nbd+unix" (the last of qemu's three nbd drivers registered) */
	printf("format name: %s\n", info.format);
	if (strcmp(info.format, bc_format_name(st->img)))
		printf("format name: %s\n", strcmp(info.format, "nbd") ? info.format : "nbd+unix");
	if (info.no_driver_info) {   /* qemu-io fails without a word */
		bc_info_free(&info);
		return -ENOTSUP;
	}
	io_cvtstr((double)info.cluster_size, s1, sizeof(s1));
	io_cvtstr((double)vm_state_offset(&info), s2, sizeof(s2));
	printf("cluster size: %s\n", s1);
	printf("vm state offset: %s\n", s2);
	if (info.specific && info.specific->child) {
		printf("Format specific information:\n");
		dump_children(info.specific, 1);
	}
	bc_info_free(&info);
	return 0;
}

/* Top-layer allocation of [off, off+len): 1 allocated, 0 not, <0 error; *num bytes alike
 * (0 past the end of the image). */
static int is_allocated(struct io_state *st, int64_t off, int64_t len, int64_t *num)
{
	uint64_t size = bc_length(st->img);
	struct bc_extent ext;
	int ret;

	*num = 0;
	if ((uint64_t)off >= size || len == 0)
		return 0;
	if ((uint64_t)len > size - (uint64_t)off)
		len = (int64_t)(size - (uint64_t)off);
	ret = bc_block_status_layer(st->img, (uint64_t)off, (uint64_t)len, &ext);
	if (ret < 0)
		return ret;
	*num = (int64_t)ext.len;
	return (ext.flags & BC_EXT_ALLOCATED) != 0;
}

/* The longest run from off with one allocation status. */
static int run_status(struct io_state *st, int64_t off, int64_t len, int64_t *num)
{
	int64_t n;
	int first = is_allocated(st, off, len, num), ret;

	if (first < 0)
		return first;
	for (off += *num, len -= *num; len > 0; off += n, len -= n) {
		ret = is_allocated(st, off, len, &n);
		if (ret != first || n == 0)
			break;
		*num += n;
	}
	return first;
}

int io_cmd_map(struct io_state *st, int argc, char **argv)
{
	int64_t off = 0, len = (int64_t)bc_length(st->img), num;
	char s1[64], s2[64];
	int ret;

	(void)argc, (void)argv;
	while (len > 0) {
		ret = run_status(st, off, len, &num);
		if (ret < 0) {
			fprintf(stderr, "%s: Failed to get allocation status: %s\n", st->prog,
				strerror(-ret));
			return ret;
		}
		if (num == 0) {
			fprintf(stderr, "%s: Unexpected end of image\n", st->prog);
			return -EIO;
		}
		io_cvtstr((double)num, s1, sizeof(s1));
		io_cvtstr((double)off, s2, sizeof(s2));
		printf("%s (0x%" PRIx64 ") bytes %s at offset %s (0x%" PRIx64 ")\n", s1,
		       (uint64_t)num, ret ? "    allocated" : "not allocated", s2, (uint64_t)off);
		off += num;
		len -= num;
	}
	return 0;
}

int io_cmd_alloc(struct io_state *st, int argc, char **argv)
{
	int64_t start, off, count = IO_SECTOR, remaining, num, sum = 0;
	char s[64];
	int ret;

	start = off = io_cvtnum(argv[1], st->prog);
	if (off < 0) {
		io_print_cvtnum_err(off, argv[1]);
		return (int)off;
	}
	if (argc == 3) {
		count = io_cvtnum(argv[2], st->prog);
		if (count < 0) {
			io_print_cvtnum_err(count, argv[2]);
			return (int)count;
		}
	}
	for (remaining = count; remaining; off += num, remaining -= num) {
		ret = is_allocated(st, off, remaining, &num);
		if (ret < 0) {
			printf("is_allocated failed: %s\n", strerror(-ret));
			return ret;
		}
		if (ret)
			sum += num;
		if (num == 0) {
			count -= remaining;
			break;
		}
	}
	io_cvtstr((double)start, s, sizeof(s));
	printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n", sum, count, s);
	return 0;
}

int io_cmd_flush(struct io_state *st, int argc, char **argv)
{
	(void)argc, (void)argv;
	return bc_flush(st->img);
}

int io_cmd_discard(struct io_state *st, int argc, char **argv)
{
	bool machine = false, quiet = false;
	int64_t off, len;
	struct timespec t1;
	int c, ret;

	while ((c = getopt(argc, argv, "Cq")) != -1) {
		if (c != 'C' && c != 'q') {
			io_usage("discard");
			return -EINVAL;
		}
		machine |= c == 'C';
		quiet |= c == 'q';
	}
	if (optind != argc - 2) {
		io_usage("discard");
		return -EINVAL;
	}
	off = io_cvtnum(argv[optind], st->prog);
	len = off < 0 ? 0 : io_cvtnum(argv[optind + 1], st->prog);
	if (off < 0 || len < 0) {
		io_print_cvtnum_err(off < 0 ? off : len, argv[optind + (off >= 0)]);
		return -EINVAL;
	}
	if (len > IO_MAX_REQUEST) {
		printf("length cannot exceed %lld, given %s\n", IO_MAX_REQUEST, argv[optind + 1]);
		return -EINVAL;
	}
	t1 = io_now();
	ret = io_check_request(st, off, len);
	if (ret == 0)
		ret = bc_discard(st->img, (uint64_t)off, (uint64_t)len);
	if (ret < 0) {
		printf("discard failed: %s\n", strerror(-ret));
		return ret;
	}
	if (!quiet)
		io_print_report("discard", t1, off, len, len, 1, machine);
	return 0;
}

int io_cmd_truncate(struct io_state *st, int argc, char **argv)
{
	enum bc_prealloc prealloc = BC_PREALLOC_OFF;
	struct bc_err err = { 0 };
	int64_t size;
	int c, ret;

	while ((c = getopt(argc, argv, "m:")) != -1) {
		if (c != 'm') {
			io_usage("truncate");
			return -EINVAL;
		}
		if (bc_parse_prealloc(optarg, &prealloc) < 0) {
			fprintf(stderr, "%s: Invalid preallocation mode '%s'\n", st->prog, optarg);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		io_usage("truncate");
		return -EINVAL;
	}
	size = io_cvtnum(argv[optind], st->prog);
	if (size < 0) {
		io_print_cvtnum_err(size, argv[1]);   /* sic: qemu-io names argv[1] */
		return (int)size;
	}
	ret = bc_truncate(st->img, (uint64_t)size, prealloc, true, &err);
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", st->prog, err.msg);
	return ret;
}
