/* Rendering bc_node trees the way qemu-img does: indented "key: value" text, or pretty JSON
 * with four-space indentation. */
#include "img.h"

#include <inttypes.h>
#include <string.h>

/* qemu prints QAPI keys with dashes as spaces in human output. */
static void print_key_human(FILE *out, const char *key)
{
	for (const char *p = key; *p; p++)
		fputc(*p == '-' ? ' ' : *p, out);
}

static void print_scalar_human(FILE *out, const struct bc_node *n)
{
	switch (n->type) {
	case BC_NODE_STRING: fputs(n->str ? n->str : "", out); break;
	case BC_NODE_INT: fprintf(out, "%" PRId64, n->i); break;
	case BC_NODE_UINT: fprintf(out, "%" PRIu64, n->u); break;
	case BC_NODE_BOOL: fputs(n->b ? "true" : "false", out); break;
	default: break;
	}
}

static bool is_container(const struct bc_node *n)
{
	return n->type == BC_NODE_OBJECT || n->type == BC_NODE_LIST;
}

/* Prints the children of obj (an object or a list) at the given indent level. */
void img_print_node_human(FILE *out, const struct bc_node *obj, int indent)
{
	int idx = 0;

	for (const struct bc_node *c = obj->child; c; c = c->next, idx++) {
		fprintf(out, "%*s", indent * 4, "");
		if (obj->type == BC_NODE_LIST)
			fprintf(out, "[%d]:", idx);
		else {
			print_key_human(out, c->key ? c->key : "");
			fputc(':', out);
		}
		if (is_container(c)) {
			fputc('\n', out);
			img_print_node_human(out, c, indent + 1);
		} else {
			fputc(' ', out);
			print_scalar_human(out, c);
			fputc('\n', out);
		}
	}
}

void img_print_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Prints n's value (not its key) as JSON; containers span lines at indent+1. */
void img_print_node_json(FILE *out, const struct bc_node *n, int indent)
{
	switch (n->type) {
	case BC_NODE_STRING: img_print_json_string(out, n->str ? n->str : ""); return;
	case BC_NODE_INT: fprintf(out, "%" PRId64, n->i); return;
	case BC_NODE_UINT: fprintf(out, "%" PRIu64, n->u); return;
	case BC_NODE_BOOL: fputs(n->b ? "true" : "false", out); return;
	case BC_NODE_OBJECT:
	case BC_NODE_LIST:
		break;
	}
	bool obj = n->type == BC_NODE_OBJECT;
	if (!n->child) {
		fputs(obj ? "{\n" : "[\n", out);
		fprintf(out, "%*s%c", indent * 4, "", obj ? '}' : ']');
		return;
	}
	fputs(obj ? "{\n" : "[\n", out);
	for (const struct bc_node *c = n->child; c; c = c->next) {
		fprintf(out, "%*s", (indent + 1) * 4, "");
		if (obj) {
			img_print_json_string(out, c->key ? c->key : "");
			fputs(": ", out);
		}
		img_print_node_json(out, c, indent + 1);
		fputs(c->next ? ",\n" : "\n", out);
	}
	fprintf(out, "%*s%c", indent * 4, "", obj ? '}' : ']');
}
