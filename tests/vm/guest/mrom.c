/* The mask ROM (0x1000) from the guest's side, printed for tests/vm/mrom.sh to compare with
 * QEMU 7.2's output: the registers the reset vector hands over, the ROM read with loads of
 * every width (and misaligned), stores and an AMO to it (QEMU discards them without a trap),
 * and a jump back to 0x1000, which must boot the program again. One hart. */
#include "rvtest.h"

#define ROM 0x1000UL

static volatile uint64_t trap_cause; /* cause + 1 of the last trap; 0: none */
static volatile uint64_t boots = 1; /* in .data (not zero): crt0 clears .bss on every boot */

static void on_trap(struct rv_frame *f)
{
	trap_cause = f->cause + 1;
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

static void line(const char *what, uint64_t v)
{
	rv_puts(what);
	rv_puts(" ");
	rv_puthex64(v);
	rv_puts(trap_cause ? " trap " : "\n");
	if (trap_cause) {
		rv_putdec((int64_t)trap_cause - 1);
		rv_puts("\n");
	}
	trap_cause = 0;
}

static void loads(void)
{
	for (uint64_t a = ROM; a < ROM + 0x60; a += 8)
		line("ld", *(volatile uint64_t *)a);
	line("lw 0x1004", *(volatile uint32_t *)(ROM + 4));
	line("lwu 0x1018", *(volatile uint32_t *)(ROM + 0x18));
	line("lh 0x100a", (uint64_t)(int64_t)*(volatile int16_t *)(ROM + 0xa));
	line("lbu 0x1009", *(volatile uint8_t *)(ROM + 9));
	line("lw 0x1002 (misaligned)", *(volatile uint32_t *)(ROM + 2));
	line("ld 0xeff8 (last word)", *(volatile uint64_t *)(ROM + 0xeff8));
}

static void stores(void)
{
	*(volatile uint32_t *)ROM = 0x12345678;
	line("sw 0x1000, then lw", *(volatile uint32_t *)ROM);
	*(volatile uint64_t *)(ROM + 0x28) = 0;
	line("sd 0x1028, then ld", *(volatile uint64_t *)(ROM + 0x28));
	*(volatile uint8_t *)(ROM + 0x100) = 0x5a;
	line("sb 0x1100, then lbu", *(volatile uint8_t *)(ROM + 0x100));
	uint64_t old;
	__asm__ volatile("amoadd.w %0, %1, (%2)" : "=r"(old) : "r"(1), "r"(ROM) : "memory");
	line("amoadd.w 0x1000 returned", old);
	line("after amoadd.w, lw", *(volatile uint32_t *)ROM);
}

int main(uint64_t a0, uint64_t a1, uint64_t a2)
{
	rv_set_mtrap(on_trap);
	line("boot", boots);
	line("a0 (mhartid)", a0);
	line("a1 (device tree)", a1);
	line("device tree magic", *(volatile uint32_t *)a1);
	line("a2 (fw_dynamic_info)", a2);
	if (boots++ > 1) {
		rv_puts("mrom: booted again through 0x1000\n");
		return 0;
	}
	loads();
	stores();
	rv_puts("mrom: jumping to 0x1000\n");
	__asm__ volatile("jr %0" ::"r"(ROM));
	return 1;
}
