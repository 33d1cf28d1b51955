/* mrom.c - the reset vector and fw_dynamic_info of the virt board's mask ROM (mrom.h). The
 * instructions are encoded here from their fields, so the layout reads as the code it is. */
#include "emulator/devices/mrom.h"

#include <string.h>

#define REG_T0 5
#define REG_A0 10
#define REG_A1 11
#define REG_A2 12
#define CSR_MHARTID 0xf14
#define FW_DYNAMIC_MAGIC 0x4942534fULL /* "OSBI" */
#define FW_DYNAMIC_VERSION 2
#define FW_NEXT_MODE_S 1

/* the two data words after the six instructions */
#define OFF_START 0x18
#define OFF_FDT 0x20

static uint32_t i_type(uint32_t opcode, unsigned funct3, unsigned rd, unsigned rs1, uint32_t imm)
{
	return (imm & 0xfff) << 20 | (uint32_t)rs1 << 15 | (uint32_t)funct3 << 12 | (uint32_t)rd << 7 | opcode;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

void vm_mrom_fill(uint8_t *rom, size_t len, const struct vm_mrom_boot *boot)
{
	const uint32_t code[6] = {
		0x17 | REG_T0 << 7,                                      /* auipc t0, 0 */
		i_type(0x13, 0, REG_A2, REG_T0, VM_MROM_RESET_LEN),       /* addi a2, t0, &finfo */
		i_type(0x73, 2, REG_A0, 0, CSR_MHARTID),                 /* csrr a0, mhartid */
		i_type(0x03, 3, REG_A1, REG_T0, OFF_FDT),                /* ld a1, fdt(t0) */
		i_type(0x03, 3, REG_T0, REG_T0, OFF_START),              /* ld t0, start(t0) */
		i_type(0x67, 0, 0, REG_T0, 0),                           /* jr t0 */
	};
	memset(rom, 0, len);
	for (int i = 0; i < 6; i++)
		put32(rom + 4 * i, code[i]);
	put64(rom + OFF_START, boot->start);
	put64(rom + OFF_FDT, boot->fdt);
	const uint64_t finfo[6] = { FW_DYNAMIC_MAGIC, FW_DYNAMIC_VERSION, boot->next_addr, FW_NEXT_MODE_S,
				    0 /* options */, 0 /* preferred boot hart */ };
	for (int i = 0; i < 6; i++)
		put64(rom + VM_MROM_RESET_LEN + 8 * i, finfo[i]);
}
