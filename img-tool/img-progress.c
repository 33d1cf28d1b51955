/* qemu-img's progress line (-p): "    (NN.NN/100%)\r", a new value only when it moved by more
 * than one point (or at 0 and 100), a newline at the end; on stdout, terminal or not. */
#include "img.h"

#include <stdio.h>

void img_progress_print(struct img_progress *p, float value)
{
	if (!p->on)
		return;
	if (value > 100)
		value = 100;
	if (!p->started || value > p->last + 1.0f || value < p->last - 1.0f || value == 0 ||
	    value == 100) {
		p->started = true;
		p->last = value;
		printf("    (%3.2f/100%%)\r", value);
		fflush(stdout);
	}
}

void img_progress_end(struct img_progress *p)
{
	if (!p->on)
		return;
	printf("\n");
	fflush(stdout);
}
