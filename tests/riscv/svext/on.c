/* Svpbmt and Svnapot enabled (QEMU 7.2's svpbmt/svnapot properties): PBMT 1/2 leaves work,
 * 64 KiB NAPOT leaves translate, malformed ones fault (body.c). */
/* cpu: rv64,svpbmt=true,svnapot=true */
#include "body.h"

int main(void)
{
	return svext_main(1);
}
