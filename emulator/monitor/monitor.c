/* monitor.c - monitor sessions on character back ends: QEMU's readline for HMP (echo, line
 * editing, history, the "(qemu) " prompt, "\n" sent as "\r\n"), the JSON stream for QMP,
 * and events fanned out to every QMP session. */
#include "emulator/monitor/monitor.h"
#include "emulator/chardev/chardev.h"
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define LINE_MAX_LEN 4096
#define HIST_MAX 64

struct vm_mon {
	struct vm_chardev *chr;
	bool qmp, open;
	/* HMP on a mux (-nographic, mon:stdio): while another front end has the focus, output
	 * waits in `held` (QEMU's mux_out) and the prompt is suspended */
	bool mux_out, reset_seen;
	int suspend;
	struct vm_mon_text held;
	/* HMP readline state */
	char line[LINE_MAX_LEN], shown[LINE_MAX_LEN];
	int len, pos, shown_len, shown_pos;
	int esc; /* 0 none, 1 after ESC, 2 after ESC [ */
	int esc_arg;
	char *hist[HIST_MAX];
	int nhist, hist_pos;
	/* QMP */
	struct vm_qmp q;
	struct vm_json_stream js;
	struct vm_mon *next;
};

struct vm_mon_ctx vm_mon_ctx = { .last_format = 'x', .last_size = 4 };

void vm_mon_printf(struct vm_mon_text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b)
			return;
		t->buf = b;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void vm_mon_text_free(struct vm_mon_text *t)
{
	free(t->buf);
	*t = (struct vm_mon_text){ 0 };
}

static void out_raw(struct vm_mon *m, const char *s, size_t n)
{
	if (m->mux_out && n)
		vm_mon_printf(&m->held, "%.*s", (int)n, s);
	else if (m->chr && n)
		vm_chr_write(m->chr, s, n);
}

static void flush_held(struct vm_mon *m)
{
	if (!m->mux_out && m->held.len) {
		vm_chr_write(m->chr, m->held.buf, m->held.len);
		m->held.len = 0;
	}
}

/* Monitor text goes out with "\n" as "\r\n", as QEMU's monitor_puts does. */
static void out_text(struct vm_mon *m, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			out_raw(m, s + start, i - start);
			out_raw(m, "\r\n", 2);
			start = i + 1;
		}
	}
	out_raw(m, s + start, n - start);
}

static void out_str(struct vm_mon *m, const char *s)
{
	out_text(m, s, strlen(s));
}

/* ---- HMP readline ---- */

static void prompt(struct vm_mon *m)
{
	out_str(m, "(qemu) ");
	m->len = m->pos = m->shown_len = m->shown_pos = 0;
}

/* Redraws what changed, exactly as QEMU's readline does: back to the line start, the whole
 * line, erase to the end, then the cursor to its place. */
static void rl_update(struct vm_mon *m)
{
	struct vm_mon_text t = { 0 };
	if (m->len != m->shown_len || memcmp(m->line, m->shown, (size_t)m->len)) {
		for (int i = 0; i < m->shown_pos; i++)
			vm_mon_printf(&t, "\033[D");
		vm_mon_printf(&t, "%.*s\033[K", m->len, m->line);
		memcpy(m->shown, m->line, (size_t)m->len);
		m->shown_len = m->len;
		m->shown_pos = m->len;
	}
	for (; m->shown_pos < m->pos; m->shown_pos++)
		vm_mon_printf(&t, "\033[C");
	for (; m->shown_pos > m->pos; m->shown_pos--)
		vm_mon_printf(&t, "\033[D");
	out_raw(m, t.buf, t.len);
	vm_mon_text_free(&t);
}

static void hist_add(struct vm_mon *m, const char *line)
{
	if (!line[0])
		return;
	if (m->nhist && !strcmp(m->hist[m->nhist - 1], line))
		return;
	if (m->nhist == HIST_MAX) {
		free(m->hist[0]);
		memmove(m->hist, m->hist + 1, sizeof(m->hist[0]) * (HIST_MAX - 1));
		m->nhist--;
	}
	char *c = strdup(line);
	if (c)
		m->hist[m->nhist++] = c;
}

static void hist_show(struct vm_mon *m, int dir)
{
	int p = m->hist_pos + dir;
	if (p < 0 || p > m->nhist)
		return;
	m->hist_pos = p;
	const char *s = p < m->nhist ? m->hist[p] : "";
	m->len = m->pos = (int)strlen(s);
	memcpy(m->line, s, (size_t)m->len);
	rl_update(m);
}

static void run_line(struct vm_mon *m)
{
	m->line[m->len] = 0;
	hist_add(m, m->line);
	m->hist_pos = m->nhist;
	out_str(m, "\n");
	char line[LINE_MAX_LEN];
	memcpy(line, m->line, (size_t)m->len + 1);
	m->len = m->pos = m->shown_len = m->shown_pos = 0;
	struct vm_mon_text t = { 0 };
	vm_hmp_execute(line, &t);
	out_text(m, t.buf ? t.buf : "", t.len);
	vm_mon_text_free(&t);
	if (!vm_mon_ctx.vm->quit_req) /* QEMU suspends the monitor on quit: no prompt */
		prompt(m);
}

static void rl_insert(struct vm_mon *m, char c)
{
	if (m->len >= LINE_MAX_LEN - 1)
		return;
	memmove(m->line + m->pos + 1, m->line + m->pos, (size_t)(m->len - m->pos));
	m->line[m->pos++] = c;
	m->len++;
	rl_update(m);
}

static void rl_backspace(struct vm_mon *m)
{
	if (m->pos == 0)
		return;
	memmove(m->line + m->pos - 1, m->line + m->pos, (size_t)(m->len - m->pos));
	m->pos--;
	m->len--;
	rl_update(m);
}

static void rl_delete(struct vm_mon *m)
{
	if (m->pos == m->len)
		return;
	memmove(m->line + m->pos, m->line + m->pos + 1, (size_t)(m->len - m->pos - 1));
	m->len--;
	rl_update(m);
}

static void rl_move(struct vm_mon *m, int pos)
{
	if (pos >= 0 && pos <= m->len) {
		m->pos = pos;
		rl_update(m);
	}
}

static void rl_csi(struct vm_mon *m, char c)
{
	switch (c) {
	case 'A': hist_show(m, -1); break;
	case 'B': hist_show(m, 1); break;
	case 'C': rl_move(m, m->pos + 1); break;
	case 'D': rl_move(m, m->pos - 1); break;
	case 'F': rl_move(m, m->len); break;
	case 'H': rl_move(m, 0); break;
	case '~':
		if (m->esc_arg == 3)
			rl_delete(m);
		else if (m->esc_arg == 1 || m->esc_arg == 7)
			rl_move(m, 0);
		else if (m->esc_arg == 4 || m->esc_arg == 8)
			rl_move(m, m->len);
		break;
	default: break;
	}
}

static void rl_byte(struct vm_mon *m, unsigned char c)
{
	if (m->esc == 1) {
		m->esc = c == '[' || c == 'O' ? 2 : 0;
		m->esc_arg = 0;
		return;
	}
	if (m->esc == 2) {
		if (c >= '0' && c <= '9') {
			m->esc_arg = m->esc_arg * 10 + (c - '0');
			return;
		}
		m->esc = 0;
		rl_csi(m, (char)c);
		return;
	}
	switch (c) {
	case 27: m->esc = 1; break;
	case '\r':
	case '\n': run_line(m); break;
	case 8:
	case 127: rl_backspace(m); break;
	case 1: rl_move(m, 0); break;       /* ^A */
	case 5: rl_move(m, m->len); break;  /* ^E */
	case 4: rl_delete(m); break;        /* ^D */
	case 2: rl_move(m, m->pos - 1); break; /* ^B */
	case 6: rl_move(m, m->pos + 1); break; /* ^F */
	default:
		if (c >= 32)
			rl_insert(m, (char)c);
		break;
	}
}

/* ---- QMP ---- */

static void qmp_send(void *opaque, struct vm_jw *w)
{
	struct vm_mon *m = opaque;
	vm_jw_raw(w, "\n", 1);
	if (!w->oom)
		out_text(m, w->buf, w->len); /* QEMU's monitor_puts: "\r\n" in QMP too */
}

static void qmp_input(struct vm_mon *m, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len && m->open; i++) {
		bool again;
		int rc = vm_json_stream_feed(&m->js, (char)buf[i], &again);
		if (rc < 0) {
			struct vm_jw w;
			vm_jw_init(&w, m->q.pretty);
			vm_jw_obj(&w, NULL);
			vm_jw_obj(&w, "error");
			vm_jw_str(&w, "class", "GenericError");
			vm_jw_str(&w, "desc", "JSON parse error, token too large");
			vm_jw_obj_end(&w);
			vm_jw_obj_end(&w);
			qmp_send(m, &w);
			vm_jw_free(&w);
			vm_json_stream_reset(&m->js);
			continue;
		}
		if (rc == 1) {
			vm_qmp_handle(&m->q, m->js.buf, m->js.len, qmp_send, m);
			vm_json_stream_reset(&m->js);
			if (again)
				i--;
		}
	}
}

/* ---- back end glue ---- */

static size_t mon_can_read(void *opaque)
{
	(void)opaque;
	return 4096;
}

static void mon_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm_mon *m = opaque;
	if (!m->open)
		return;
	if (m->qmp) {
		qmp_input(m, buf, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		rl_byte(m, buf[i]);
}

static void mon_opened(struct vm_mon *m)
{
	m->open = true;
	if (m->qmp) {
		struct vm_jw w;
		m->q.negotiated = false;
		vm_json_stream_reset(&m->js);
		vm_jw_init(&w, m->q.pretty);
		vm_qmp_greeting(&w);
		qmp_send(m, &w);
		vm_jw_free(&w);
		return;
	}
	char banner[128];
	snprintf(banner, sizeof(banner), "QEMU %d.%d.%d monitor - type 'help' for more information\n", VM_MON_MAJOR,
		 VM_MON_MINOR, VM_MON_MICRO);
	out_str(m, banner);
	m->esc = 0;
	if (!m->mux_out)
		prompt(m);
	m->reset_seen = true;
}

/* As QEMU's HMP on a mux: focus lost after the banner: a newline, then output is held and
 * the prompt suspended; focus back: the line restarts and the prompt (and what was held)
 * comes out. */
static void mon_mux(struct vm_mon *m, bool in)
{
	if (!in) {
		if (m->reset_seen && m->suspend == 0)
			out_str(m, "\n");
		m->suspend++;
		m->mux_out = true;
		return;
	}
	m->mux_out = false;
	if (m->reset_seen) {
		m->esc = 0;
		flush_held(m);
		if (m->suspend > 0 && --m->suspend == 0)
			prompt(m);
	} else {
		m->suspend = 0;
	}
}

static void mon_event(void *opaque, enum vm_chr_event ev)
{
	struct vm_mon *m = opaque;
	if (ev == VM_CHR_OPENED && !m->open)
		mon_opened(m);
	else if (ev == VM_CHR_CLOSED)
		m->open = false;
	else if (!m->qmp && (ev == VM_CHR_MUX_IN || ev == VM_CHR_MUX_OUT))
		mon_mux(m, ev == VM_CHR_MUX_IN);
}

static void on_vm_event(void *opaque, const char *name, const char *data_json)
{
	(void)opaque;
	vm_mon_event(name, data_json);
}

void vm_mon_event(const char *name, const char *data_json)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct vm_json *data = NULL;
	char err[128];
	if (data_json && strcmp(data_json, "{}") && vm_json_parse(data_json, strlen(data_json), &data, err, sizeof(err)))
		data = NULL;
	for (struct vm_mon *m = vm_mon_ctx.mons; m; m = m->next) {
		if (!m->qmp || !m->open || !m->q.negotiated)
			continue;
		struct vm_jw w;
		vm_jw_init(&w, m->q.pretty);
		vm_jw_obj(&w, NULL);
		vm_jw_obj(&w, "timestamp");
		vm_jw_int(&w, "seconds", (int64_t)tv.tv_sec);
		vm_jw_int(&w, "microseconds", (int64_t)tv.tv_usec);
		vm_jw_obj_end(&w);
		vm_jw_str(&w, "event", name);
		if (data)
			vm_jw_value(&w, "data", data);
		vm_jw_obj_end(&w);
		qmp_send(m, &w);
		vm_jw_free(&w);
	}
	vm_json_free(data);
}

int vm_monitor_init(struct vm_virt *vm, struct vm_drive *drives, int ndrives)
{
	vm_mon_ctx.vm = vm;
	vm_mon_ctx.drives = drives;
	vm_mon_ctx.ndrives = ndrives;
	return vm_virt_on_event(vm, on_vm_event, NULL) ? -ENOSPC : 0;
}

int vm_monitor_attach(struct vm_chardev *c, bool qmp, bool pretty)
{
	struct vm_mon *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->chr = c;
	m->qmp = qmp;
	m->q.pretty = pretty;
	struct vm_chr_frontend fe = { mon_can_read, mon_read, mon_event, m };
	int rc = vm_chr_attach(c, &fe);
	if (rc) {
		free(m);
		return rc;
	}
	m->next = vm_mon_ctx.mons;
	vm_mon_ctx.mons = m;
	return 0;
}

void vm_monitor_cleanup(void)
{
	while (vm_mon_ctx.mons) {
		struct vm_mon *m = vm_mon_ctx.mons;
		vm_mon_ctx.mons = m->next;
		for (int i = 0; i < m->nhist; i++)
			free(m->hist[i]);
		vm_json_stream_free(&m->js);
		vm_mon_text_free(&m->held);
		free(m);
	}
	while (vm_mon_ctx.jobs) {
		struct vm_mon_job *j = vm_mon_ctx.jobs;
		vm_mon_ctx.jobs = j->next;
		free(j->error);
		free(j);
	}
}
