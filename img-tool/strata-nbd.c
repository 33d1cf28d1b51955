/*
 * strata-nbd: exports one image over NBD, a drop-in for qemu-nbd 7.2's export side (options,
 * messages, exit codes). The protocol lives in the engine (bc_nbd.h); this file parses the
 * command line, opens the image, listens, and serves every client on one event loop
 * (bc_nbd_serve_loop).
 */
#include "bc_nbd.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct nbd_args {
	const char *format, *name, *desc, *port, *bind, *sockpath, *cache, *aio, *pidfile;
	const char *bitmaps[BC_NBD_MAX_BITMAPS], *filename;
	int nbitmaps;
	bool readonly, persistent, fork, snapshot, image_opts, alloc_depth;
	long shared;
	enum bc_nbd_discard discard;
	enum bc_nbd_dzero dzero;
};

static volatile sig_atomic_t stop;
static struct bc_nbd_bitmap bitmaps[BC_NBD_MAX_BITMAPS];    /* -B, as loaded */

static void usage_hint(void)
{
	fprintf(stderr, "Try `%s --help' for more information.\n", tool_name);
}

static void help(void)
{
	printf("Usage: %s [OPTIONS] FILE\n"
	       "Strata's Network Block Device server (qemu-nbd's export side)\n\n"
	       "  -h, --help                display this help and exit\n"
	       "  -V, --version             output version information and exit\n\n"
	       "Connection properties:\n"
	       "  -p, --port=PORT           port to listen on (default `10809')\n"
	       "  -b, --bind=IFACE          interface to bind to (default `0.0.0.0')\n"
	       "  -k, --socket=PATH         path to the unix socket\n"
	       "  -e, --shared=NUM          device can be shared by NUM clients (default '1')\n"
	       "  -t, --persistent          don't exit on the last connection\n"
	       "  -x, --export-name=NAME    expose export by name (default is empty string)\n"
	       "  -D, --description=TEXT    export a human-readable description\n"
	       "  -A, --allocation-depth    expose the allocation depth\n"
	       "  -B, --bitmap=NAME         expose a persistent dirty bitmap\n\n"
	       "General purpose options:\n"
	       "  --object type,id=ID,...   define an object such as 'secret'\n"
	       "  --fork                    fork off the server process and exit the parent\n"
	       "                            once the server is running\n"
	       "  --pid-file=PATH           store the server's process ID in the given file\n\n"
	       "Block device options:\n"
	       "  -f, --format=FORMAT       set image format (raw, qcow2, ...)\n"
	       "  -r, --read-only           export read-only\n"
	       "  -s, --snapshot            use FILE as an external snapshot, create a temporary\n"
	       "                            file with backing_file=FILE, redirect the write to\n"
	       "                            the temporary one\n"
	       "  -n, --nocache             disable host cache\n"
	       "      --cache=MODE          set cache mode used to access the disk image\n"
	       "      --aio=MODE            set AIO mode (native, io_uring or threads)\n"
	       "      --discard=MODE        set discard mode (ignore, unmap)\n"
	       "      --detect-zeroes=MODE  set detect-zeroes mode (off, on, unmap)\n"
	       "      --image-opts          treat FILE as a full set of image options\n",
	       tool_name);
}

enum { OPT_OBJECT = 256, OPT_CACHE, OPT_AIO, OPT_DISCARD, OPT_DZ, OPT_IMAGE_OPTS, OPT_FORK,
       OPT_PIDFILE };

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
	{ "port", required_argument, NULL, 'p' }, { "bind", required_argument, NULL, 'b' },
	{ "socket", required_argument, NULL, 'k' }, { "shared", required_argument, NULL, 'e' },
	{ "persistent", no_argument, NULL, 't' }, { "verbose", no_argument, NULL, 'v' },
	{ "export-name", required_argument, NULL, 'x' },
	{ "description", required_argument, NULL, 'D' },
	{ "allocation-depth", no_argument, NULL, 'A' }, { "bitmap", required_argument, NULL, 'B' },
	{ "format", required_argument, NULL, 'f' }, { "read-only", no_argument, NULL, 'r' },
	{ "snapshot", no_argument, NULL, 's' }, { "nocache", no_argument, NULL, 'n' },
	{ "object", required_argument, NULL, OPT_OBJECT },
	{ "cache", required_argument, NULL, OPT_CACHE }, { "aio", required_argument, NULL, OPT_AIO },
	{ "discard", required_argument, NULL, OPT_DISCARD },
	{ "detect-zeroes", required_argument, NULL, OPT_DZ },
	{ "image-opts", no_argument, NULL, OPT_IMAGE_OPTS }, { "fork", no_argument, NULL, OPT_FORK },
	{ "pid-file", required_argument, NULL, OPT_PIDFILE },
	{ NULL, 0, NULL, 0 },
};

/* One option's value; 1 to exit with an error (the message printed). */
static int take_option(struct nbd_args *a, int c, unsigned *flags)
{
	char *end;

	switch (c) {
	case 'p': a->port = optarg; break;
	case 'b': a->bind = optarg; break;
	case 'k': a->sockpath = optarg; break;
	case 'e':
		errno = 0;
		a->shared = strtol(optarg, &end, 0);
		if (errno || *end || a->shared < 0) {
			tool_error("Invalid shared device number '%s'", optarg);
			return 1;
		}
		break;
	case 't': a->persistent = true; break;
	case 'v': break;
	case 'x':
		if (strlen(optarg) > NBD_MAX_STRING) {
			tool_error("export name '%s' too long", optarg);
			return 1;
		}
		a->name = optarg;
		break;
	case 'D':
		if (strlen(optarg) > NBD_MAX_STRING) {
			tool_error("export description '%s' too long", optarg);
			return 1;
		}
		a->desc = optarg;
		break;
	case 'A': a->alloc_depth = true; break;
	case 'B':
		if (a->nbitmaps == BC_NBD_MAX_BITMAPS) {
			tool_error("At most %d bitmaps can be exported", BC_NBD_MAX_BITMAPS);
			return 1;
		}
		/* qemu-nbd 7.2 keeps its -B list newest first (its listings show that order) */
		memmove(a->bitmaps + 1, a->bitmaps, sizeof(*a->bitmaps) * (size_t)a->nbitmaps++);
		a->bitmaps[0] = optarg;
		break;
	case 'f': a->format = optarg; break;
	case 'r': a->readonly = true; break;
	case 's': a->snapshot = true; break;
	case 'n': a->cache = "none"; break;
	case OPT_OBJECT:
		return tool_object_add(optarg) < 0;
	case OPT_CACHE:
		if (bc_parse_cache_mode(optarg, flags) < 0) {
			tool_error("Invalid cache mode `%s'", optarg);
			return 1;
		}
		a->cache = optarg;
		break;
	case OPT_AIO:
		if (strcmp(optarg, "native") && strcmp(optarg, "io_uring") && strcmp(optarg, "threads")) {
			tool_error("Invalid aio mode '%s'", optarg);
			return 1;
		}
		a->aio = optarg;
		break;
	case OPT_DISCARD:
		if (!strcmp(optarg, "ignore") || !strcmp(optarg, "off"))
			a->discard = BC_NBD_DISCARD_IGNORE;
		else if (!strcmp(optarg, "unmap") || !strcmp(optarg, "on"))
			a->discard = BC_NBD_DISCARD_UNMAP;
		else {
			tool_error("Invalid discard mode `%s'", optarg);
			return 1;
		}
		break;
	case OPT_DZ:
		if (!strcmp(optarg, "off"))
			a->dzero = BC_NBD_DZ_OFF;
		else if (!strcmp(optarg, "on"))
			a->dzero = BC_NBD_DZ_ON;
		else if (!strcmp(optarg, "unmap"))
			a->dzero = BC_NBD_DZ_UNMAP;
		else {
			tool_error("Failed to parse detect_zeroes mode: invalid parameter value: %s",
				   optarg);
			return 1;
		}
		break;
	case OPT_IMAGE_OPTS: a->image_opts = true; break;
	case OPT_FORK: a->fork = true; break;
	case OPT_PIDFILE: a->pidfile = optarg; break;
	default:
		fprintf(stderr, "%s: ", tool_name);
		usage_hint();
		return 1;
	}
	return 0;
}

/* 0 to go on, 1 to exit 1, 2 to exit 0 (help, version). */
static int parse_args(int argc, char **argv, struct nbd_args *a, unsigned *flags)
{
	int c;

	opterr = 1;
	while ((c = getopt_long(argc, argv, "hVp:b:k:e:tvx:D:AB:f:rsnc:dl:o:L", long_opts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return 2;
		}
		if (c == 'V') {
			printf("%s version " STRATA_VERSION "\n", tool_name);
			return 2;
		}
		if (c == 'c' || c == 'd' || c == 'l' || c == 'o' || c == 'L') {
			tool_error("option -%c is not supported by strata-nbd", c);
			return 1;
		}
		if (take_option(a, c, flags))
			return 1;
	}
	if (argc - optind != 1) {
		tool_error("Invalid number of arguments");
		usage_hint();
		return 1;
	}
	a->filename = argv[optind];
	if (a->dzero == BC_NBD_DZ_UNMAP && a->discard != BC_NBD_DISCARD_UNMAP) {
		tool_error("setting detect-zeroes to unmap is not allowed without setting discard "
			   "operation to unmap");
		return 1;
	}
	return 0;
}

/* -s: a temporary qcow2 overlay over FILE takes the writes; unlinked once open, as qemu does. */
static int open_snapshot(struct nbd_args *a, struct bc_open_opts *o, struct bc_image **img,
			 struct bc_err *err)
{
	struct bc_image *base;
	char tmpl[] = "/var/tmp/vl.XXXXXX";
	struct bc_opts *co;
	char *abs;
	int fd, ret;

	o->flags &= ~BC_OPEN_RDWR;
	ret = bc_open(&base, a->filename, o, err);
	if (ret < 0)
		return ret;
	char sz[32];
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)bc_length(base));
	const char *fmt = bc_format_name(base);
	abs = a->image_opts ? NULL : realpath(a->filename, NULL);
	fd = mkstemp(tmpl);
	co = bc_opts_new();
	if (fd < 0 || !co) {
		ret = bc_err_set(err, -errno, "Could not create temporary overlay: %s", strerror(errno));
		goto out;
	}
	close(fd);
	bc_opts_set(co, "size", sz);
	bc_opts_set(co, "backing_file", abs ? abs : a->filename);
	bc_opts_set(co, "backing_fmt", fmt);
	bc_close(base);
	base = NULL;
	ret = bc_create("qcow2", tmpl, co, err);
	if (ret == 0) {
		o->flags |= BC_OPEN_RDWR;
		o->format = "qcow2";
		unsigned f = o->flags;
		o->flags &= ~BC_OPEN_IMAGE_OPTS;
		ret = bc_open(img, tmpl, o, err);
		o->flags = f;
	}
	unlink(tmpl);
out:
	bc_close(base);
	bc_opts_free(co);
	free(abs);
	return ret;
}

/* The layer of the backing chain (top first) that holds bitmap `name`, as qemu-nbd looks for it;
 * *b points into *list (to be freed by the caller). NULL when no layer has it. */
static struct bc_image *find_bitmap(struct bc_image *img, const char *name,
				    struct bc_bitmap_req *list, const struct bc_bitmap **b)
{
	struct bc_err err = { 0 };

	for (; img; img = bc_backing(img)) {
		*list = (struct bc_bitmap_req){ .op = BC_BITMAP_LIST };
		if (bc_bitmap(img, list, &err) < 0)
			list->n = 0;
		for (int j = 0; j < list->n; j++) {
			if (!strcmp(list->list[j].name, name)) {
				*b = &list->list[j];
				return img;
			}
		}
		bc_bitmap_list_free(list->list, list->n);
	}
	*list = (struct bc_bitmap_req){ .op = BC_BITMAP_LIST };
	return NULL;
}

/* -B: the named persistent bitmaps, read once; enabled ones in the top image then follow the
 * export's writes (a bitmap found further down the backing chain never sees them). */
static int load_bitmaps(const struct nbd_args *a, struct bc_image *img)
{
	struct bc_err err = { 0 };
	int ret = 0;

	for (int i = 0; i < a->nbitmaps && ret == 0; i++) {
		const struct bc_bitmap *b = NULL;
		struct bc_bitmap_req list;
		struct bc_image *layer = find_bitmap(img, a->bitmaps[i], &list, &b);
		struct bc_bitmap_req rd = { .op = BC_BITMAP_READ, .name = a->bitmaps[i] };
		if (!layer) {
			tool_error("Bitmap '%s' is not found", a->bitmaps[i]);
			ret = -ENOENT;
		} else if (b->in_use) {
			tool_error("Bitmap '%s' is inconsistent and cannot be used\n"
				   "Try block-dirty-bitmap-remove to delete this bitmap from disk",
				   a->bitmaps[i]);
			ret = -EINVAL;
		} else if ((ret = bc_bitmap(layer, &rd, &err)) < 0) {
			tool_error("Bitmap '%s': %s", a->bitmaps[i], err.msg);
		} else {
			bitmaps[i] = (struct bc_nbd_bitmap){ .name = a->bitmaps[i], .bits = rd.bits,
							     .nbits = rd.nbits,
							     .granularity = rd.granularity,
							     .enabled = b->enabled && !a->readonly &&
									layer == img };
		}
		bc_bitmap_list_free(list.list, list.n);
	}
	return ret;
}

static int open_image(struct nbd_args *a, unsigned flags, struct bc_image **img)
{
	/* qemu-nbd's export never lets others resize the image under it */
	struct bc_open_opts o = { .format = a->format, .flags = flags | BC_OPEN_NO_SHARE_RESIZE };
	struct bc_err err = { 0 };
	int ret;

	if (!a->readonly)
		o.flags |= BC_OPEN_RDWR;
	if (a->image_opts)
		o.flags |= BC_OPEN_IMAGE_OPTS;
	if (a->aio)
		o.io = !strcmp(a->aio, "io_uring") ? BC_IO_URING : BC_IO_POSIX;
	if (a->aio && !strcmp(a->aio, "native") && !(flags & BC_OPEN_DIRECT)) {
		tool_error("Failed to blk_new_open '%s': aio=native was specified, but it requires "
			   "cache.direct=on, which was not specified.", a->filename);
		return -EINVAL;
	}
	ret = a->snapshot ? open_snapshot(a, &o, img, &err) : bc_open(img, a->filename, &o, &err);
	if (ret < 0) {
		tool_error("Failed to blk_new_open '%s': %s", a->filename, err.msg);
		return ret;
	}
	if ((ret = load_bitmaps(a, *img)) < 0)
		bc_close(*img);
	return ret;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		tool_error("UNIX socket path '%s' is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		tool_error("Failed to bind socket to %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	int fd = -1, e, one = 1, saved = 0;

	e = getaddrinfo(host, port, &hints, &res);
	if (e) {
		tool_error("address resolution failed for %s:%s: %s", host, port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		tool_error("Failed to find an available port: %s", strerror(saved));
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* --fork: the parent exits 0 once the child listens, or 1 when the child failed. */
static int daemonize(int *ready_fd)
{
	int p[2];
	char b;

	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		ssize_t n = read(p[0], &b, 1);
		_exit(n == 1 && b == 0 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	struct nbd_args a = { .name = "", .port = "10809", .bind = "0.0.0.0", .shared = 1 };
	struct bc_nbd_export exp = { 0 };
	struct bc_image *img = NULL;
	unsigned flags = 0;
	int ready = -1, lfd, ret;

	tool_set_name(argv[0]);
	ret = parse_args(argc, argv, &a, &flags);
	if (ret)
		return ret == 2 ? 0 : 1;
	if (a.cache && !strcmp(a.cache, "none") && bc_parse_cache_mode("none", &flags) < 0)
		return 1;
	if (a.fork && daemonize(&ready) < 0) {
		tool_error("Failed to fork: %s", strerror(errno));
		return 1;
	}
	if (open_image(&a, flags, &img) < 0)
		return 1;
	lfd = a.sockpath ? listen_unix(a.sockpath) : listen_tcp(a.bind, a.port);
	if (lfd < 0) {
		bc_close(img);
		return 1;
	}
	if (a.pidfile) {
		FILE *f = fopen(a.pidfile, "w");
		if (!f) {
			/* qemu-nbd's words; like it, the socket file is left where it is */
			tool_error("Could not create '%s': %s", a.pidfile, strerror(errno));
			close(lfd);
			bc_close(img);      /* bitmaps are stored back, not left "in use" */
			return 1;
		}
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	exp.name = a.name;
	exp.description = a.desc;
	exp.img = img;
	exp.readonly = a.readonly;
	/* as qemu-nbd 7.2: advertised when several clients may connect (safe: one engine and one
	 * cache under every connection, so a flush on one covers writes done on all) */
	exp.multi_conn = a.shared != 1;
	exp.alloc_depth = a.alloc_depth;
	exp.bitmaps = bitmaps;
	exp.nbitmaps = a.nbitmaps;
	exp.discard = a.discard;
	exp.detect_zeroes = a.dzero;
	exp.lock = NULL;       /* one thread: every session runs on bc_nbd_serve_loop's */
	/* the tests run the poll(2) fallback too (kernels or sandboxes without io_uring) */
	exp.no_uring = getenv("STRATA_NBD_POLL") && !strcmp(getenv("STRATA_NBD_POLL"), "1");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (ready >= 0) {
		char z = 0;
		if (write(ready, &z, 1) != 1)
			return 1;
		close(ready);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			close(nul);
		}
	}
	struct bc_nbd_stats stats = { 0 };
	exp.stats = &stats;
	ret = bc_nbd_serve_loop(&exp, lfd, a.shared, a.persistent, &stop);
	if (ret < 0)
		tool_error("Failed to serve: %s", strerror(-ret));
	/* for the tests: how far sessions overlapped their requests */
	if (getenv("STRATA_NBD_STATS") && !strcmp(getenv("STRATA_NBD_STATS"), "1"))
		fprintf(stderr, "strata-nbd: stats: max-in-flight %ld out-of-order %ld\n",
			stats.max_inflight, stats.out_of_order);
	close(lfd);
	int cret = bc_close(img);
	ret = ret < 0 ? ret : cret;
	if (a.sockpath)
		unlink(a.sockpath);
	if (a.pidfile)
		unlink(a.pidfile);
	return ret < 0 ? 1 : 0;
}
