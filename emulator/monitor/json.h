/* json.h - the QMP wire format: a strict JSON parser (RFC 8259 plus QEMU's single-quoted
 * strings), a stream splitter that cuts a byte stream into top-level values as QEMU's
 * streamer does, and a writer that prints QEMU's layout (", " and ": " separators; with
 * pretty=on four-space indents; non-ASCII and control characters as \uXXXX). */
#ifndef STRATA_EMULATOR_MONITOR_JSON_H
#define STRATA_EMULATOR_MONITOR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_JSON_MAX_DEPTH 1024    /* QEMU's nesting limit */
#define VM_JSON_MAX_MESSAGE (64u << 20)

enum vm_json_type { VM_JSON_NULL, VM_JSON_BOOL, VM_JSON_INT, VM_JSON_UINT, VM_JSON_DOUBLE, VM_JSON_STRING,
		    VM_JSON_ARRAY, VM_JSON_OBJECT };

struct vm_json {
	enum vm_json_type type;
	bool b;
	int64_t i;  /* INT */
	uint64_t u; /* UINT: integers above INT64_MAX */
	double d;
	char *str;  /* STRING: UTF-8, NUL-terminated (may hold NULs: see len) */
	size_t len;
	struct vm_json **items; /* ARRAY and OBJECT values */
	char **keys;            /* OBJECT keys */
	size_t n, cap;
};

/* Parses exactly one value from text[0..len). 0, or -EINVAL with QEMU's "JSON parse error,
 * ..." text in err. */
int vm_json_parse(const char *text, size_t len, struct vm_json **out, char *err, size_t errlen);
void vm_json_free(struct vm_json *v);
/* An object's member, or NULL. */
struct vm_json *vm_json_get(const struct vm_json *obj, const char *key);
const char *vm_json_type_name(enum vm_json_type t);

/* Cuts a byte stream into top-level JSON texts. */
struct vm_json_stream {
	char *buf;
	size_t len, cap;
	int depth;
	bool in_str, esc, in_scalar;
	char quote;
};
/* Feeds one byte. Returns 1 when buf[0..len) holds a complete text (then *again is set if
 * the byte was not consumed and must be fed again after vm_json_stream_reset), 0 otherwise,
 * -ENOMEM. */
int vm_json_stream_feed(struct vm_json_stream *s, char c, bool *again);
void vm_json_stream_reset(struct vm_json_stream *s);
void vm_json_stream_free(struct vm_json_stream *s);

/* The writer: builds one JSON text in a growing buffer. `key` names the member inside an
 * object and is NULL inside an array or at the top. Out of memory sets `oom` and the
 * output is dropped by the caller. */
struct vm_jw {
	char *buf;
	size_t len, cap;
	bool pretty, need_comma, oom;
	int depth;
};
void vm_jw_init(struct vm_jw *w, bool pretty);
void vm_jw_free(struct vm_jw *w);
void vm_jw_obj(struct vm_jw *w, const char *key);
void vm_jw_obj_end(struct vm_jw *w);
void vm_jw_arr(struct vm_jw *w, const char *key);
void vm_jw_arr_end(struct vm_jw *w);
void vm_jw_str(struct vm_jw *w, const char *key, const char *s);
void vm_jw_strn(struct vm_jw *w, const char *key, const char *s, size_t n);
void vm_jw_int(struct vm_jw *w, const char *key, int64_t v);
void vm_jw_uint(struct vm_jw *w, const char *key, uint64_t v);
void vm_jw_bool(struct vm_jw *w, const char *key, bool v);
void vm_jw_null(struct vm_jw *w, const char *key);
void vm_jw_value(struct vm_jw *w, const char *key, const struct vm_json *v);
/* Appends raw bytes (a newline after a message). */
void vm_jw_raw(struct vm_jw *w, const char *s, size_t n);

#endif
