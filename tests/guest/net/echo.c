/* echo.c - a tiny riscv64 Linux echo server for the network tests (tests/vm/net_linux.sh,
 * bench/net.sh): busybox's nc has no UDP and no way to answer request by request.
 *   echo u PORT   UDP: every datagram goes back to its sender, forever
 *   echo t PORT   TCP: one connection, everything read is written back until EOF, then exit
 *   echo s A.B.C.D PORT MIB   TCP: connects and sends MIB MiB of zeros in 64 KiB writes
 *                 (bench/net.sh's guest->host stream without dd and a pipe in front)
 *   echo p A.B.C.D PORT   TCP: connects and relays stdin to it in 64 KiB reads until EOF
 *                 (bench/net.sh's "dd | relay": busybox nc copies 1 KiB per select, so a
 *                 dd | nc stream measures that loop at ~1 MiB/s, not the network)
 * Freestanding (riscv64-unknown-elf-gcc -nostdlib -static): raw system calls, no libc. */
typedef unsigned long ulong;

#define SYS_close 57
#define SYS_read 63
#define SYS_write 64
#define SYS_exit 93
#define SYS_socket 198
#define SYS_bind 200
#define SYS_listen 201
#define SYS_accept 202
#define SYS_connect 203
#define SYS_sendto 206
#define SYS_recvfrom 207
#define SYS_setsockopt 208

static long sys(long n, long a, long b, long c, long d, long e, long f)
{
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	register long a3 __asm__("a3") = d;
	register long a4 __asm__("a4") = e;
	register long a5 __asm__("a5") = f;
	register long a7 __asm__("a7") = n;
	__asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7) : "memory");
	return a0;
}

struct sin {
	unsigned short family, port;
	unsigned addr;
	char zero[8];
};

static char buf[65536];

static int run(int udp, unsigned port)
{
	struct sin a = { 2, (unsigned short)(port >> 8 | (port & 0xff) << 8), 0, { 0 } };
	int one = 1;
	long s = sys(SYS_socket, 2, udp ? 2 : 1, 0, 0, 0, 0);
	if (s < 0)
		return 2;
	sys(SYS_setsockopt, s, 1, 2, (long)&one, sizeof(one), 0); /* SO_REUSEADDR */
	if (sys(SYS_bind, s, (long)&a, sizeof(a), 0, 0, 0) < 0)
		return 3;
	if (udp) {
		for (;;) {
			struct sin from;
			unsigned fl = sizeof(from);
			long n = sys(SYS_recvfrom, s, (long)buf, sizeof(buf), 0, (long)&from, (long)&fl);
			if (n >= 0)
				sys(SYS_sendto, s, (long)buf, n, 0, (long)&from, fl);
		}
	}
	if (sys(SYS_listen, s, 1, 0, 0, 0, 0) < 0)
		return 4;
	long c = sys(SYS_accept, s, 0, 0, 0, 0, 0);
	if (c < 0)
		return 5;
	sys(SYS_setsockopt, c, 6, 1, (long)&one, sizeof(one), 0); /* TCP_NODELAY: answer at once */
	for (;;) {
		long n = sys(SYS_read, c, (long)buf, sizeof(buf), 0, 0, 0);
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			long w = sys(SYS_write, c, (long)buf + off, n - off, 0, 0, 0);
			if (w <= 0)
				return 6;
			off += w;
		}
	}
	sys(SYS_close, c, 0, 0, 0, 0, 0);
	return 0;
}

static unsigned num(const char **p)
{
	unsigned v = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++)
		v = v * 10 + (unsigned)(**p - '0');
	return v;
}

static long dial(const char *ip, const char *port_s)
{
	unsigned char a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (unsigned char)num(&ip);
		if (*ip == '.')
			ip++;
	}
	unsigned port = num(&port_s);
	struct sin sa = { 2, (unsigned short)(port >> 8 | (port & 0xff) << 8), 0, { 0 } };
	sa.addr = (unsigned)a[0] | (unsigned)a[1] << 8 | (unsigned)a[2] << 16 | (unsigned)a[3] << 24;
	long s = sys(SYS_socket, 2, 1, 0, 0, 0, 0);
	if (s < 0 || sys(SYS_connect, s, (long)&sa, sizeof(sa), 0, 0, 0) < 0)
		return -1;
	return s;
}

static int put(long s, unsigned long n)
{
	for (unsigned long off = 0; off < n;) {
		long w = sys(SYS_write, s, (long)buf + (long)off, (long)(n - off), 0, 0, 0);
		if (w <= 0)
			return -1;
		off += (unsigned long)w;
	}
	return 0;
}

static int stream(const char *ip, const char *port_s, const char *mib_s)
{
	unsigned mib = num(&mib_s);
	long s = dial(ip, port_s);
	if (s < 0)
		return 7;
	for (unsigned long left = (unsigned long)mib << 20; left;) {
		unsigned long n = left < sizeof(buf) ? left : sizeof(buf);
		if (put(s, n) < 0)
			return 8;
		left -= n;
	}
	sys(SYS_close, s, 0, 0, 0, 0, 0);
	return 0;
}

static int relay(const char *ip, const char *port_s)
{
	long s = dial(ip, port_s), n;
	if (s < 0)
		return 7;
	while ((n = sys(SYS_read, 0, (long)buf, sizeof(buf), 0, 0, 0)) > 0)
		if (put(s, (unsigned long)n) < 0)
			return 8;
	sys(SYS_close, s, 0, 0, 0, 0, 0);
	return n < 0 ? 9 : 0;
}

static int main2(int argc, char **argv)
{
	if (argc == 5 && argv[1][0] == 's')
		return stream(argv[2], argv[3], argv[4]);
	if (argc == 4 && argv[1][0] == 'p')
		return relay(argv[2], argv[3]);
	if (argc != 3 || (argv[1][0] != 'u' && argv[1][0] != 't'))
		return 1;
	const char *p = argv[2];
	return run(argv[1][0] == 'u', num(&p));
}

void start_c(long *sp);
void start_c(long *sp)
{
	sys(SYS_exit, main2((int)sp[0], (char **)(sp + 1)), 0, 0, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n mv a0, sp\n andi sp, sp, -16\n call start_c\n");
