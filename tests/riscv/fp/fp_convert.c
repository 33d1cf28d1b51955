/* Guest program: the "convert" suite of fpcases.c (its host replay: test_rv_fpu --replay convert). */
#include "fpcases.h"

int main(void)
{
	fp_suite_convert();
	return 0;
}
