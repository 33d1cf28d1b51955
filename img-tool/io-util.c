/*
 * io-util.c — what strata-io's commands share: qemu-io's number syntax, its pattern bytes,
 * its human sizes, its statistics lines and its hex dump.
 */
#include "io.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int suffix_shift(char c)
{
	static const char units[] = "BKMGTPE";
	const char *p;

	if (!c)
		return -1;
	p = strchr(units, toupper((unsigned char)c));
	return p ? (int)(p - units) * 10 : -1;
}

/* strtoull with qemu's error convention: no digits -EINVAL, overflow -ERANGE. */
static int parse_u64(const char *s, const char **end, int base, uint64_t *out)
{
	char *ep;

	errno = 0;
	*out = strtoull(s, &ep, base);
	*end = ep;
	if (ep == s)
		return -EINVAL;
	return errno == ERANGE ? -ERANGE : 0;
}

/* The fraction after the integer part: 0.64 fixed point in *valf; end moves past it. */
static int parse_fraction(const char *nptr, const char **end, uint64_t *valf)
{
	const char *f = *end;
	char *ep;
	double fraction;

	errno = 0;
	fraction = strtod(f, &ep);
	if (ep == f || errno) {
		*end = f + 1;   /* "1.k": the dot alone */
		return 0;
	}
	if (memchr(f, 'e', ep - f) || memchr(f, 'E', ep - f)) {
		*end = nptr;
		return -EINVAL;
	}
	*end = ep;
	*valf = (uint64_t)(fraction * 0x1p64);
	return 0;
}

static int scale(uint64_t val, uint64_t valf, int shift, uint64_t *out)
{
	unsigned __int128 r = (unsigned __int128)val << shift;
	unsigned __int128 f = (unsigned __int128)valf << shift;

	r += f >> 64;
	r += ((uint64_t)f) >> 63;  /* round half up */
	if (r >> 64)
		return -ERANGE;
	*out = (uint64_t)r;
	return 0;
}

/* qemu's size syntax: decimal with optional fraction, or 0x hex; suffix B K M G T P E. */
int io_parse_size(const char *text, const char *prog, uint64_t *out)
{
	const char *end;
	uint64_t val, valf = 0;
	bool hex = false;
	int ret, shift;

	ret = parse_u64(text, &end, 10, &val);
	if (!ret && memchr(text, '-', end - text))
		ret = -EINVAL, end = text;
	if (ret)
		goto out;
	if (val == 0 && (*end == 'x' || *end == 'X')) {
		ret = parse_u64(text, &end, 16, &val);
		if (!ret && *end == '.')
			ret = -EINVAL, end = text;
		if (ret)
			goto out;
		hex = true;
	} else if (*end == '.') {
		ret = parse_fraction(text, &end, &valf);
		if (ret)
			goto out;
	}
	shift = suffix_shift(*end);
	if (shift >= 0) {
		if (hex)
			fprintf(stderr, "%s: warning: Using a multiplier suffix on hex numbers is "
				"deprecated: %s\n", prog, text);
		end++;
	} else {
		shift = 0;
	}
	if (shift == 0 && valf)
		ret = -EINVAL, end = text;
	else
		ret = scale(val, valf, shift, &val);
out:
	if (*end)
		ret = -EINVAL;
	if (!ret)
		*out = val;
	return ret;
}

/* A non-negative int64 or a negative errno, as qemu-io's cvtnum. */
int64_t io_cvtnum(const char *text, const char *prog)
{
	uint64_t v;
	int ret = io_parse_size(text, prog, &v);

	if (ret < 0)
		return ret;
	return v > INT64_MAX ? -ERANGE : (int64_t)v;
}

void io_print_cvtnum_err(int64_t rc, const char *arg)
{
	if (rc == -EINVAL)
		printf("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- "
		       "%s\n", arg);
	else if (rc == -ERANGE)
		printf("Parsing error: argument too large -- %s\n", arg);
	else
		printf("Parsing error: %s\n", arg);
}

int io_parse_pattern(const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 0);

	if (v < 0 || v > 255 || *end) {
		printf("%s is not a valid pattern byte\n", arg);
		return -1;
	}
	return (int)v;
}

/* qemu-io's human size: "64 KiB", "1.500 KiB", "598.864075 bytes". */
void io_cvtstr(double value, char *buf, size_t size)
{
	static const char *const units[] = { " KiB", " MiB", " GiB", " TiB", " PiB", " EiB" };
	const char *suffix = " bytes";
	char *trim;
	int i;

	for (i = 5; i >= 0; i--) {
		double unit = (double)(1ULL << (10 * (i + 1)));

		if (value >= unit) {
			suffix = units[i];
			snprintf(buf, size, "%.3f", value / unit);
			break;
		}
	}
	if (i < 0)
		snprintf(buf, size, "%f", value);
	trim = strstr(buf, ".000");
	if (trim)
		*trim = '\0';
	strncat(buf, suffix, size - strlen(buf) - 1);
}

struct timespec io_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

static double seconds(struct timespec t)
{
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void timestr(struct timespec t, char *buf, size_t size, bool fixed)
{
	double frac = t.tv_nsec / 1e9;
	unsigned s = (unsigned)t.tv_sec;

	if (fixed || s)
		snprintf(buf, size, "%u:%02u:%05.2f", s / 3600, s % 3600 / 60, s % 60 + frac);
	else
		snprintf(buf, size, "%05.2f sec", frac);
}

/* The two statistics lines after a request that took d (or the -C line). */
void io_print_report_elapsed(const char *op, struct timespec d, int64_t off, int64_t count,
			     int64_t total, int cnt, bool machine)
{
	char s1[64], s2[64], ts[64];
	double secs = seconds(d);

	timestr(d, ts, sizeof(ts), machine);
	if (machine) {
		printf("%" PRId64 ",%d,%s,%.3f,%.3f\n", total, cnt, ts, total / secs, cnt / secs);
		return;
	}
	io_cvtstr((double)total, s1, sizeof(s1));
	io_cvtstr(total / secs, s2, sizeof(s2));
	printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n", op, total, count, off);
	printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s1, cnt, ts, s2, cnt / secs);
}

/* Same, for a request started at t1 and finished now. */
void io_print_report(const char *op, struct timespec t1, int64_t off, int64_t count,
		     int64_t total, int cnt, bool machine)
{
	struct timespec t2 = io_now(), d;

	d.tv_sec = t2.tv_sec - t1.tv_sec;
	d.tv_nsec = t2.tv_nsec - t1.tv_nsec;
	if (d.tv_nsec < 0) {
		d.tv_sec--;
		d.tv_nsec += 1000000000L;
	}
	io_print_report_elapsed(op, d, off, count, total, cnt, machine);
}

void io_dump_buffer(const uint8_t *buf, int64_t off, int64_t len)
{
	int64_t i;
	int j;

	for (i = 0; i < len; i += 16) {
		printf("%08" PRIx64 ":  ", (uint64_t)(off + i));
		for (j = 0; j < 16 && i + j < len; j++)
			printf("%02x ", buf[i + j]);
		printf(" ");
		for (j = 0; j < 16 && i + j < len; j++)
			putchar(isalnum(buf[i + j]) ? buf[i + j] : '.');
		printf("\n");
	}
}

bool io_pattern_ok(const uint8_t *buf, size_t len, int pattern)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != (uint8_t)pattern)
			return false;
	return true;
}

/* qemu's request check: anything outside the image is -EIO. */
int io_check_request(struct io_state *st, int64_t off, int64_t len)
{
	uint64_t size = bc_length(st->img);

	if (off < 0 || len < 0 || (uint64_t)off > size || size - (uint64_t)off < (uint64_t)len)
		return -EIO;
	return 0;
}

uint8_t *io_alloc_vec(char **args, int n, int pattern, int64_t *total, const char *prog)
{
	int64_t sum = 0, len;
	uint8_t *buf;
	int i;

	for (i = 0; i < n; i++) {
		len = io_cvtnum(args[i], prog);
		if (len < 0) {
			io_print_cvtnum_err(len, args[i]);
			return NULL;
		}
		if (len > IO_MAX_REQUEST) {
			printf("Argument '%s' exceeds maximum size %lld\n", args[i], IO_MAX_REQUEST);
			return NULL;
		}
		if (sum > IO_MAX_REQUEST - len) {
			printf("The total number of bytes exceed the maximum size %lld\n",
			       IO_MAX_REQUEST);
			return NULL;
		}
		sum += len;
	}
	buf = malloc(sum ? (size_t)sum : 1);
	if (buf)
		memset(buf, pattern, (size_t)sum);
	*total = sum;
	return buf;
}

void io_reset_getopt(void)
{
	optind = 0;
	opterr = 1;
}
