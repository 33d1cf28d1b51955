/* Benchmark kernels double as correctness tests: `make check` runs them at a small scale
 * (BENCH_SCALE 1) against QEMU; bench/cpu.sh rebuilds them with a large BENCH_SCALE, and
 * with BENCH_SV39 to run the kernel in S-mode under an Sv39 identity mapping. */
#ifndef BENCHLIB_H
#define BENCHLIB_H
#include <stdint.h>
#ifndef BENCH_SCALE
#define BENCH_SCALE 1
#endif
/* Runs kernel(arg) bare in M-mode or (BENCH_SV39) in S-mode with paging; prints the result. */
int bench_run(const char *name, uint64_t (*kernel)(uint64_t), uint64_t arg);
#endif
