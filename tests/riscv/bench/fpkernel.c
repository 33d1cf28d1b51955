/* Floating point: dense double matrix multiply plus a float dot product. */
#include "benchlib.h"

#define N 48
static double a[N][N], b[N][N], c[N][N];
static float x[1024], y[1024];

static uint64_t kernel(uint64_t reps)
{
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			a[i][j] = (double)(i + 1) / (double)(j + 2);
			b[i][j] = (double)(i - j) * 0.25;
		}
	for (int i = 0; i < 1024; i++) {
		x[i] = (float)i * 0.5f;
		y[i] = 1.0f / (float)(i + 1);
	}
	double sum = 0;
	float dot = 0;
	for (uint64_t r = 0; r < reps; r++) {
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++) {
				double s = 0;
				for (int k = 0; k < N; k++)
					s += a[i][k] * b[k][j];
				c[i][j] = s;
			}
		sum += c[r % N][(r * 7) % N];
		for (int i = 0; i < 1024; i++)
			dot += x[i] * y[i];
	}
	union { double d; uint64_t u; } u1 = { sum };
	union { float f; uint32_t u; } u2 = { dot };
	return u1.u ^ u2.u;
}

int main(void)
{
	return bench_run("fpkernel", kernel, 2 * (uint64_t)BENCH_SCALE);
}
