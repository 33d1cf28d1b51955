/* The secret store: qemu's "secret" objects parsed, decrypted when keyid= names another
 * secret (AES-256-CBC), kept by id and wiped when removed. */
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct stored_secret {
	char *id;
	uint8_t *data;
	size_t len;
	struct stored_secret *next;
};

static struct stored_secret *g_store;

void bc_secret_free(uint8_t *data, size_t len)
{
	if (!data)
		return;
	OPENSSL_cleanse(data, len + 1);
	free(data);
}

void bc_secret_clear(void)
{
	while (g_store) {
		struct stored_secret *s = g_store;

		g_store = s->next;
		bc_secret_free(s->data, s->len);
		free(s->id);
		free(s);
	}
}

static const struct stored_secret *store_find(const char *id)
{
	for (const struct stored_secret *s = g_store; s; s = s->next)
		if (!strcmp(s->id, id))
			return s;
	return NULL;
}

static int dup_bytes(const uint8_t *src, size_t len, uint8_t **data, size_t *outlen)
{
	uint8_t *p = malloc(len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, src, len);
	p[len] = 0;
	*data = p;
	*outlen = len;
	return 0;
}

int bc_secret_get(const struct bc_open_opts *o, const char *id, uint8_t **data, size_t *len,
		  struct bc_err *err)
{
	const struct stored_secret *s;

	for (int i = 0; o && i < o->nsecrets; i++)
		if (o->secrets[i].id && !strcmp(o->secrets[i].id, id))
			return dup_bytes(o->secrets[i].data, o->secrets[i].len, data, len) < 0
				       ? bc_err_set(err, -ENOMEM, "Out of memory") : 0;
	s = store_find(id);
	if (!s)
		return bc_err_set(err, -ENOENT, "No secret with id '%s'", id);
	if (dup_bytes(s->data, s->len, data, len) < 0)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int bc_base64_decode(const char *in, uint8_t **out, size_t *outlen, struct bc_err *err)
{
	size_t n = strlen(in), o = 0;
	uint32_t acc = 0;
	int bits = 0;
	uint8_t *p;

	for (size_t i = 0; i < n; i++)
		if (b64_value(in[i]) < 0 && in[i] != '=')
			return bc_err_set(err, -EINVAL, "Base64 data contains invalid characters");
	p = malloc(n / 4 * 3 + 4);
	if (!p)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (size_t i = 0; i < n && in[i] != '='; i++) {
		acc = acc << 6 | (uint32_t)b64_value(in[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (uint8_t)(acc >> bits);
		}
	}
	OPENSSL_cleanse(&acc, sizeof(acc));
	*out = p;
	*outlen = o;
	return 0;
}

/* ---- parsing the object definition ---- */

enum { P_QOM, P_ID, P_DATA, P_FILE, P_FORMAT, P_KEYID, P_IV, P_LOADED, P_N };
static const char *const prop_names[P_N] = { "qom-type", "id", "data", "file", "format",
					      "keyid", "iv", "loaded" };

/* Splits "secret,id=a,data=b" (",," is a comma) into vals[]; the first bare word is qom-type. */
static int split_def(char *copy, char *vals[P_N], struct bc_err *err)
{
	char *r = copy, *w, *key, *val;
	bool first = true;

	while (*r) {
		key = w = r;
		val = NULL;
		for (; *r; r++) {
			if (*r == ',' && r[1] == ',') {
				*w++ = *r++;
				continue;
			}
			if (*r == ',')
				break;
			if (*r == '=' && !val) {
				*w++ = 0;
				val = w;
				continue;
			}
			*w++ = *r;
		}
		if (*r)
			r++;
		*w = 0;
		if (!val && first) {
			val = key;
			key = "qom-type";
		} else if (!val) {
			return bc_err_set(err, -EINVAL, "Expected '=' after parameter '%s'", key);
		}
		first = false;
		int i;
		for (i = 0; i < P_N; i++)
			if (!strcmp(key, prop_names[i]))
				break;
		if (i == P_N)
			return bc_err_set(err, -EINVAL, "Parameter '%s' is unexpected", key);
		vals[i] = val;
	}
	return 0;
}

static bool valid_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

static int read_secret_file(const char *path, uint8_t **out, size_t *len, struct bc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 256, n = 0;
	uint8_t *p;
	ssize_t r;

	if (fd < 0)
		return bc_err_set(err, -errno, "Unable to read %s: Failed to open file \u201c%s\u201d: %s",
				  path, path, strerror(errno));
	p = malloc(cap + 1);
	while (p && (r = read(fd, p + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			uint8_t *q = malloc(cap * 2 + 1);

			if (q)
				memcpy(q, p, n);
			OPENSSL_cleanse(p, n);
			free(p);
			p = q;
			cap *= 2;
		}
	}
	close(fd);
	if (!p)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	p[n] = 0;
	*out = p;
	*len = n;
	return 0;
}

/* keyid=: data is AES-256-CBC under that secret's 32 bytes with iv (base64), padded. */
static int decrypt_secret(const char *keyid, const char *iv64, uint8_t **data, size_t *len,
			  struct bc_err *err)
{
	const struct stored_secret *k = store_find(keyid);
	uint8_t *iv = NULL, *plain = NULL;
	size_t ivlen = 0;
	int n1 = 0, n2 = 0, ret;
	EVP_CIPHER_CTX *ctx;

	if (!k)
		return bc_err_set(err, -ENOENT, "No secret with id '%s'", keyid);
	if (!iv64)
		return bc_err_set(err, -EINVAL, "IV is required to decrypt secret");
	if (k->len != 32)
		return bc_err_set(err, -EINVAL, "Key should be 32 bytes in length");
	ret = bc_base64_decode(iv64, &iv, &ivlen, err);
	if (ret < 0)
		return ret;
	if (ivlen != 16) {
		free(iv);
		return bc_err_set(err, -EINVAL, "IV should be 16 bytes in length not %zu", ivlen);
	}
	if (*len % 16) {
		free(iv);
		return bc_err_set(err, -EINVAL, "Length %zu must be a multiple of block size 16",
				  *len);
	}
	ctx = EVP_CIPHER_CTX_new();
	plain = malloc(*len + 17);
	ret = -EIO;
	if (ctx && plain && EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->data, iv) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_DecryptUpdate(ctx, plain, &n1, *data, (int)*len) == 1 &&
	    EVP_DecryptFinal_ex(ctx, plain + n1, &n2) == 1)
		ret = 0;
	EVP_CIPHER_CTX_free(ctx);
	free(iv);
	if (ret == 0 && n1 + n2 > 0 && plain[n1 + n2 - 1] > n1 + n2)
		ret = bc_err_set(err, -EINVAL, "Incorrect number of padding bytes (%d) found on "
				 "decrypted data", plain[n1 + n2 - 1]);
	else if (ret < 0)
		bc_err_set(err, ret, "Cannot decrypt secret");
	bc_secret_free(*data, *len);
	*data = NULL;
	if (ret < 0) {
		bc_secret_free(plain, *len);
		return ret;
	}
	*len = (size_t)(n1 + n2) - (n1 + n2 ? plain[n1 + n2 - 1] : 0);
	plain[*len] = 0;
	*data = plain;
	return 0;
}

static int load_secret(char *vals[P_N], uint8_t **data, size_t *len, struct bc_err *err)
{
	bool b64 = vals[P_FORMAT] && !strcmp(vals[P_FORMAT], "base64");
	int ret;

	if (vals[P_DATA] && vals[P_FILE])
		return bc_err_set(err, -EINVAL, "'file' and 'data' are mutually exclusive");
	if (!vals[P_DATA] && !vals[P_FILE])
		return bc_err_set(err, -EINVAL, "Either 'file' or 'data' must be provided");
	if (vals[P_DATA])
		ret = dup_bytes((const uint8_t *)vals[P_DATA], strlen(vals[P_DATA]), data, len) < 0
			      ? bc_err_set(err, -ENOMEM, "Out of memory") : 0;
	else
		ret = read_secret_file(vals[P_FILE], data, len, err);
	if (ret < 0 || !b64)
		goto decrypt;
	uint8_t *raw;
	size_t rawlen;

	ret = bc_base64_decode((const char *)*data, &raw, &rawlen, err);
	bc_secret_free(*data, *len);
	*data = ret < 0 ? NULL : raw;
	*len = ret < 0 ? 0 : rawlen;
decrypt:
	if (ret == 0 && vals[P_KEYID])
		ret = decrypt_secret(vals[P_KEYID], vals[P_IV], data, len, err);
	return ret;
}

static int check_props(char *vals[P_N], struct bc_err *err)
{
	if (!vals[P_QOM])
		return bc_err_set(err, -EINVAL, "Parameter 'qom-type' is missing");
	if (strcmp(vals[P_QOM], "secret"))
		return bc_err_set(err, -EINVAL, "Parameter 'qom-type' does not accept value '%s'",
				  vals[P_QOM]);
	if (!vals[P_ID])
		return bc_err_set(err, -EINVAL, "Parameter 'id' is missing");
	if (!valid_identifier(vals[P_ID]))
		return bc_err_set(err, -EINVAL, "Parameter 'id' expects an identifier");
	if (vals[P_FORMAT] && strcmp(vals[P_FORMAT], "raw") && strcmp(vals[P_FORMAT], "base64"))
		return bc_err_set(err, -EINVAL, "Parameter 'format' does not accept value '%s'",
				  vals[P_FORMAT]);
	if (vals[P_LOADED])
		return bc_err_set(err, -EINVAL, "Property 'secret.loaded' is not writable");
	if (store_find(vals[P_ID]))
		return bc_err_set(err, -EEXIST, "attempt to add duplicate property '%s' to object "
				  "(type 'container')", vals[P_ID]);
	return 0;
}

int bc_secret_object_add(const char *def, struct bc_err *err)
{
	char *copy = strdup(def), *vals[P_N] = { 0 };
	struct stored_secret *s = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int ret;

	if (!copy)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = split_def(copy, vals, err);
	if (ret == 0)
		ret = check_props(vals, err);
	if (ret == 0)
		ret = load_secret(vals, &data, &len, err);
	if (ret == 0 && (!(s = calloc(1, sizeof(*s))) || !(s->id = strdup(vals[P_ID]))))
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
	if (ret == 0) {
		s->data = data;
		s->len = len;
		s->next = g_store;
		g_store = s;
	} else {
		bc_secret_free(data, len);
		free(s);
	}
	OPENSSL_cleanse(copy, strlen(def));
	free(copy);
	return ret;
}
