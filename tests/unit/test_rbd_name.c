/* rbd: names (blockcore/rbd-name.c): qemu's syntax, escapes, the canonical spelling and the
 * json: name qemu shows; driver=rbd options (rbd-dict.c) turned into a name. No cluster. */
#include "open-dict.h"
#include "rbd-client.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct rbd_target t;

static bool parse(const char *name)
{
	struct bc_err err = { 0 };

	return rbd_parse_name(name, &t, &err) == 0;
}

static void test_parse(void)
{
	tap_ok(parse("rbd:pool/img") && !strcmp(t.pool, "pool") && !strcmp(t.image, "img") &&
	       !t.nspace[0] && !t.snap[0] && !t.nopts, "rbd:POOL/IMAGE");
	tap_ok(parse("rbd:p/ns/i@s:conf=/etc/c.conf:id=admin:rbd_cache=false") &&
	       !strcmp(t.nspace, "ns") && !strcmp(t.image, "i") && !strcmp(t.snap, "s") &&
	       !strcmp(t.conf, "/etc/c.conf") && !strcmp(t.user, "admin") && t.nopts == 1 &&
	       !strcmp(t.key[0], "rbd_cache") && !strcmp(t.val[0], "false"),
	       "namespace, snapshot, conf, id and a rados option");
	tap_ok(parse("rbd:p/i\\:x\\@y:mon_host=127.0.0.1\\:6789") && !strcmp(t.image, "i:x@y") &&
	       !strcmp(t.val[0], "127.0.0.1:6789"), "backslash escapes");
	struct bc_err err = { 0 };
	tap_ok(rbd_parse_name("rbd:img", &t, &err) == -EINVAL &&
	       !strcmp(err.msg, "Pool name is required"), "no pool: an error");
	tap_ok(rbd_parse_name("rbd:p/i:bogus", &t, &err) == -EINVAL &&
	       !strcmp(err.msg, "conf option bogus has no value"), "option without value: qemu's text");
}

static void test_canonical(void)
{
	char buf[1024], *shown = NULL;

	tap_ok(parse("rbd:p/i\\:x@s:id=u:conf=/c") && rbd_target_name(&t, buf, sizeof(buf)) == 0 &&
	       !strcmp(buf, "rbd:p/i\\:x@s:conf=\\/c:id=u"), "canonical spelling (%s)", buf);
	tap_ok(rbd_display_name("rbd:p/i:conf=/c:id=u", "raw", false, &shown) == 0 &&
	       !strcmp(shown, "json:{\"driver\": \"raw\", \"file\": {\"pool\": \"p\", \"image\": "
		       "\"i\", \"conf\": \"/c\", \"driver\": \"rbd\", \"namespace\": \"\", \"user\": "
		       "\"u\"}}"), "qemu's json: name");
	free(shown);
}

static void test_dict(void)
{
	struct bc_opts *d = bc_opts_new();
	struct bc_err err = { 0 };
	char *shown = NULL;

	bc_opts_set(d, "driver", "rbd");
	bc_opts_set(d, "pool", "p");
	bc_opts_set(d, "image", "i");
	bc_opts_set(d, "server.0.host", "10.0.0.1");
	bc_opts_set(d, "server.0.port", "3300");
	bool ok = bc_rbd_dict_rewrite(&d, &err) == 0;
	const char *name = ok ? bc_opts_get(d, "filename") : NULL;
	tap_ok(name && parse(name) && t.from_opts && t.nopts == 1 &&
	       !strcmp(t.key[0], "mon_host") && !strcmp(t.val[0], "10.0.0.1:3300"),
	       "driver=rbd with server.* becomes mon_host (%s)", name ? name : err.msg);
	tap_ok(name && rbd_display_name(name, "rbd", true, &shown) == 0 &&
	       !strcmp(shown, "json:{\"pool\": \"p\", \"image\": \"i\", \"server.0.host\": "
		       "\"10.0.0.1\", \"driver\": \"rbd\", \"server.0.port\": \"3300\"}"),
	       "the rbd node's json: name");
	free(shown);
	bc_opts_free(d);
	d = bc_opts_new();
	bc_opts_set(d, "driver", "rbd");
	bc_opts_set(d, "image", "i");
	tap_ok(bc_rbd_dict_rewrite(&d, &err) == -EINVAL &&
	       !strcmp(err.msg, "Parameter 'pool' is missing"), "no pool: qemu's text");
	bc_opts_free(d);
}

int main(void)
{
	test_parse();
	test_canonical();
	test_dict();
	return tap_done();
}
